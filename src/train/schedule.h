#pragma once
// Learning-rate schedules over a run of `total_steps` optimizer steps, step s = 0 .. total-1.
// Every schedule starts with a linear warmup: lr(s) = max_lr · (s+1)/warmup for s < warmup.
//   constant: max_lr after warmup.
//   cosine:   min_lr + ½(max_lr − min_lr)(1 + cos(π·p)), p = (s − warmup)/(total − warmup) ∈ [0, 1).
//   wsd:      warmup-stable-decay: max_lr until the last D = round(decay_frac · total) steps, then
//             linearly down so that the last step uses exactly min_lr:
//             lr = max_lr − (max_lr − min_lr)·(s − (total − D) + 1)/D.
#include <cstdint>
#include <string>

namespace sputnik::train {

enum class ScheduleKind { Constant, Cosine, Wsd };

struct Schedule {
  ScheduleKind kind = ScheduleKind::Cosine;
  double max_lr = 3e-4, min_lr = 0.0;
  int64_t warmup = 0, total_steps = 1;
  double decay_frac = 0.2;  // wsd only

  double lr(int64_t step) const;
  // Throws Error for impossible settings (negative rates, warmup longer than the run, ...).
  void validate() const;
};

// "constant" | "cosine" | "wsd"; throws Error naming the value otherwise.
ScheduleKind parse_schedule_kind(const std::string& name);
std::string schedule_kind_name(ScheduleKind kind);

}  // namespace sputnik::train
