#include "train/train_log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace sputnik::train {

JsonlLog::JsonlLog(const std::string& path, bool append) : path_(path) {
  f_ = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (!f_) fail("{}: cannot open the training log: {}", path, std::strerror(errno));
}

JsonlLog::~JsonlLog() {
  if (f_) std::fclose(f_);
}

void JsonlLog::write(const nlohmann::json& record) {
  if (!f_) return;
  const std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fflush(f_) != 0)
    fail("{}: cannot write the training log: {}", path_, std::strerror(errno));
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int64_t t = int64_t(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

ProgressBar::ProgressBar(std::FILE* out, int tty) : out_(out), tty_(tty < 0 ? isatty(fileno(out)) != 0 : tty != 0) {}

std::string ProgressBar::format_line(const ProgressInfo& p, bool with_bar) {
  std::string s;
  if (with_bar) {
    constexpr int kWidth = 24;
    const int filled = p.total > 0 ? int(std::clamp<int64_t>(kWidth * p.step / p.total, 0, kWidth)) : 0;
    s.push_back('[');
    s.append(size_t(filled), '#');
    s.append(size_t(kWidth - filled), '.');
    s.append("] ");
  }
  s += fmt::format("step {}/{} loss {:.4f} lr {:.3g} {:.0f} tok/s ETA {}", p.step, p.total, p.loss, p.lr,
                   p.tokens_per_s, format_duration(p.eta_s));
  if (p.eval_loss >= 0) s += fmt::format(" eval {:.4f}", p.eval_loss);
  return s;
}

void ProgressBar::update(const ProgressInfo& p) {
  if (tty_) {
    // \x1b[K clears what a longer previous line left behind.
    std::fprintf(out_, "\r%s\x1b[K", format_line(p, true).c_str());
    open_line_ = true;
    if (p.eval_loss >= 0) {
      std::fputc('\n', out_);
      open_line_ = false;
    }
  } else {
    // A log file gets about 50 lines per run, plus every evaluation and the last step.
    const int64_t every = std::max<int64_t>(1, p.total / 50);
    if (p.step % every == 0 || p.step == p.total || p.step == 1 || p.eval_loss >= 0)
      std::fprintf(out_, "%s\n", format_line(p, false).c_str());
  }
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (open_line_) std::fputc('\n', out_);
  open_line_ = false;
  std::fflush(out_);
}

}  // namespace sputnik::train
