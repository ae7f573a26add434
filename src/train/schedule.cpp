#include "train/schedule.h"

#include <cmath>
#include <numbers>

#include "core/error.h"

namespace sputnik::train {

double Schedule::lr(int64_t step) const {
  if (step < warmup) return max_lr * double(step + 1) / double(warmup);
  switch (kind) {
    case ScheduleKind::Constant:
      return max_lr;
    case ScheduleKind::Cosine: {
      const int64_t span = total_steps - warmup;
      if (span <= 0) return max_lr;
      const double p = double(step - warmup) / double(span);
      return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * p));
    }
    case ScheduleKind::Wsd: {
      const int64_t decay = std::llround(decay_frac * double(total_steps));
      const int64_t start = total_steps - decay;
      if (decay <= 0 || step < start) return max_lr;
      return max_lr - (max_lr - min_lr) * double(step - start + 1) / double(decay);
    }
  }
  return max_lr;
}

void Schedule::validate() const {
  if (!(max_lr > 0) || !std::isfinite(max_lr)) fail("--lr must be a positive number (got {})", max_lr);
  if (min_lr < 0 || min_lr > max_lr) fail("--min-lr must lie in [0, --lr] (got {} with --lr {})", min_lr, max_lr);
  if (total_steps < 1) fail("--steps must be at least 1 (got {})", total_steps);
  if (warmup < 0 || warmup > total_steps) fail("--warmup must lie in [0, --steps] (got {})", warmup);
  if (!(decay_frac >= 0 && decay_frac <= 1)) fail("--decay-frac must lie in [0, 1] (got {})", decay_frac);
  if (kind == ScheduleKind::Wsd && std::llround(decay_frac * double(total_steps)) > total_steps - warmup)
    fail("--decay-frac {} of {} steps overlaps the {} warmup steps", decay_frac, total_steps, warmup);
}

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::Constant;
  if (name == "cosine") return ScheduleKind::Cosine;
  if (name == "wsd") return ScheduleKind::Wsd;
  fail("--schedule: unknown schedule '{}' (constant, cosine, wsd)", name);
}

std::string schedule_kind_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Constant: return "constant";
    case ScheduleKind::Cosine: return "cosine";
    case ScheduleKind::Wsd: return "wsd";
  }
  return "?";
}

}  // namespace sputnik::train
