#pragma once
// What a person watching a training run sees: one JSON object per step appended to a .jsonl file
// (flushed each line, so `tail -f` and plotting scripts see it live), and a progress line on
// stderr — redrawn in place on a terminal, plain lines when stderr is a file or pipe.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/progress_line.h"

namespace sputnik::train {

class JsonlLog {
 public:
  JsonlLog() = default;
  // append=false truncates (a fresh run); throws Error naming the path when it cannot be opened.
  JsonlLog(const std::string& path, bool append);
  ~JsonlLog();
  JsonlLog(const JsonlLog&) = delete;
  JsonlLog& operator=(const JsonlLog&) = delete;
  void write(const nlohmann::json& record);

 private:
  std::FILE* f_ = nullptr;
  std::string path_;
};

struct ProgressInfo {
  int64_t step = 0, total = 0;  // steps done, steps in the run
  double loss = 0, lr = 0, tokens_per_s = 0, eta_s = 0;
  double eval_loss = -1;  // < 0: none this step
};

class ProgressBar {
 public:
  // tty < 0: ask isatty(stderr).
  explicit ProgressBar(std::FILE* out = stderr, int tty = -1);
  void update(const ProgressInfo& p);
  void finish();  // ends the redrawn line on a terminal
  // The text of one progress line (without the bar's carriage return), for tests.
  static std::string format_line(const ProgressInfo& p, bool with_bar);

 private:
  ProgressLine line_;
};

// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace sputnik::train
