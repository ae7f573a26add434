#include "train/train_log.h"

#include <fmt/format.h>

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

ProgressBar::ProgressBar(std::FILE* out, int tty) : line_(ProgressLine::kFinalOnly, out, tty) {}

std::string ProgressBar::format_line(const ProgressInfo& p, bool with_bar) {
  std::string s = with_bar ? ProgressLine::bar(p.total > 0 ? double(p.step) / double(p.total) : 0.0, 24, '.') : "";
  s += fmt::format("step {}/{} loss {:.4f} lr {:.3g} {:.0f} tok/s ETA {}", p.step, p.total, p.loss, p.lr,
                   p.tokens_per_s, format_duration(p.eta_s));
  if (p.eval_loss >= 0) s += fmt::format(" eval {:.4f}", p.eval_loss);
  return s;
}

void ProgressBar::update(const ProgressInfo& p) {
  // On a terminal, evaluations and the last step stay on screen.
  const bool kept = p.eval_loss >= 0 || p.step == p.total;
  if (line_.tty()) {
    if (line_.due(kept)) line_.show(format_line(p, true), kept);
    return;
  }
  // A log file gets about 50 lines per run, plus every evaluation and the last step.
  const int64_t every = std::max<int64_t>(1, p.total / 50);
  if (kept || p.step % every == 0 || p.step == 1) line_.show(format_line(p, false), true);
}

void ProgressBar::finish() { line_.end(); }

}  // namespace sputnik::train
