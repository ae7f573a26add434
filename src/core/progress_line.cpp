#include "core/progress_line.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace sputnik {

ProgressLine::ProgressLine(double log_every_s, std::FILE* out, int tty)
    : out_(out),
      tty_(tty < 0 ? isatty(fileno(out)) != 0 : tty != 0),
      log_every_s_(log_every_s),
      t0_(clock::now()),
      last_(t0_) {}

double ProgressLine::seconds() const { return std::chrono::duration<double>(clock::now() - t0_).count(); }

bool ProgressLine::due(bool keep) const {
  if (keep) return true;
  const double since = std::chrono::duration<double>(clock::now() - last_).count();
  // The first redraw at once on a terminal; the first log line only after a whole interval.
  return tty_ ? !shown_ || since >= 0.1 : since >= log_every_s_;
}

void ProgressLine::show(const std::string& line, bool keep) {
  if (!due(keep)) return;
  last_ = clock::now();
  shown_ = true;
  if (tty_) {
    // \x1b[K clears what a longer previous line left behind.
    std::fprintf(out_, "\r%s\x1b[K%s", line.c_str(), keep ? "\n" : "");
    open_line_ = !keep;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ProgressLine::end() {
  if (open_line_) std::fputc('\n', out_);
  open_line_ = false;
  std::fflush(out_);
}

std::string ProgressLine::bar(double fraction, int width, char empty) {
  const double f = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
  const int filled = std::clamp(int(f * width), 0, width);
  std::string s = "[";
  s.append(size_t(filled), '#');
  s.append(size_t(width - filled), empty);
  s += "] ";
  return s;
}

}  // namespace sputnik
