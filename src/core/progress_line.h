#pragma once
// One progress line for a long job (loading a model, quantizing, tokenizing a corpus, training):
// on a terminal it is redrawn in place, at most ~10 times a second; in a log file or a pipe it is
// a plain line at most every `log_every_s` seconds (and the last one always), so a log gets a
// few dozen lines instead of thousands of carriage-return updates.
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>

namespace sputnik {

class ProgressLine {
 public:
  // Log lines: only the final one.
  static constexpr double kFinalOnly = std::numeric_limits<double>::infinity();

  // tty < 0: ask isatty() of `out`.
  explicit ProgressLine(double log_every_s, std::FILE* out = stderr, int tty = -1);

  bool tty() const { return tty_; }
  double seconds() const;
  // Whether show() would print now (callers skip formatting a line that would not be shown).
  bool due(bool keep = false) const;
  // Prints `line` if due(keep): on a terminal over the previous one, else as a line of its own.
  // A kept line (the last one, or one worth keeping such as an evaluation) is always printed,
  // and on a terminal stays on screen: the next one starts below it.
  void show(const std::string& line, bool keep = false);
  // On a terminal, ends a redrawn line left open (e.g. before other output); else nothing.
  void end();

  // "[####......] " filled to `fraction` (clamped to [0, 1]), `width` cells.
  static std::string bar(double fraction, int width, char empty = ' ');

 private:
  using clock = std::chrono::steady_clock;
  std::FILE* out_;
  bool tty_;
  double log_every_s_;
  clock::time_point t0_, last_;
  bool shown_ = false, open_line_ = false;
};

}  // namespace sputnik
