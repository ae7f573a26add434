// Learning-rate schedules against their closed forms.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "train/schedule.h"

namespace sputnik::train {
namespace {

TEST(Schedule, WarmupIsLinearFromLrOverWarmup) {
  Schedule s{ScheduleKind::Cosine, 1e-3, 1e-4, 10, 100};
  for (int64_t i = 0; i < 10; ++i) EXPECT_DOUBLE_EQ(s.lr(i), 1e-3 * double(i + 1) / 10.0) << i;
  EXPECT_DOUBLE_EQ(s.lr(10), 1e-3);  // cosine starts at its peak right after warmup
}

TEST(Schedule, CosineMatchesClosedForm) {
  const double hi = 3e-4, lo = 3e-5;
  Schedule s{ScheduleKind::Cosine, hi, lo, 20, 220};
  for (int64_t i : {20, 50, 120, 170, 219}) {
    const double p = double(i - 20) / 200.0;
    EXPECT_NEAR(s.lr(i), lo + 0.5 * (hi - lo) * (1 + std::cos(std::numbers::pi * p)), 1e-15) << i;
  }
  EXPECT_NEAR(s.lr(120), (hi + lo) / 2, 1e-15);  // halfway
  EXPECT_GT(s.lr(219), lo);
  EXPECT_LT(s.lr(219), lo + 1e-4 * (hi - lo));
  for (int64_t i = 21; i < 220; ++i) EXPECT_LE(s.lr(i), s.lr(i - 1)) << i;
}

TEST(Schedule, WsdHoldsThenDecaysLinearlyToMin) {
  Schedule s{ScheduleKind::Wsd, 1.0, 0.1, 5, 100, 0.2};
  for (int64_t i = 5; i < 80; ++i) EXPECT_DOUBLE_EQ(s.lr(i), 1.0) << i;
  for (int64_t i = 80; i < 100; ++i) EXPECT_NEAR(s.lr(i), 1.0 - 0.9 * double(i - 80 + 1) / 20.0, 1e-12) << i;
  EXPECT_NEAR(s.lr(99), 0.1, 1e-12);
  EXPECT_NEAR(s.lr(89), 0.55, 1e-12);
}

TEST(Schedule, ConstantAfterWarmup) {
  Schedule s{ScheduleKind::Constant, 0.5, 0.0, 4, 50};
  EXPECT_DOUBLE_EQ(s.lr(0), 0.125);
  EXPECT_DOUBLE_EQ(s.lr(3), 0.5);
  EXPECT_DOUBLE_EQ(s.lr(49), 0.5);
}

TEST(Schedule, RejectsImpossibleSettings) {
  EXPECT_THROW((Schedule{ScheduleKind::Cosine, -1, 0, 0, 10}.validate()), Error);
  EXPECT_THROW((Schedule{ScheduleKind::Cosine, 1, 2, 0, 10}.validate()), Error);
  EXPECT_THROW((Schedule{ScheduleKind::Cosine, 1, 0, 11, 10}.validate()), Error);
  EXPECT_THROW((Schedule{ScheduleKind::Wsd, 1, 0, 9, 10, 0.5}.validate()), Error);
  EXPECT_NO_THROW((Schedule{ScheduleKind::Wsd, 1, 0, 2, 10, 0.5}.validate()));
  EXPECT_THROW(parse_schedule_kind("linear"), Error);
  EXPECT_EQ(parse_schedule_kind("wsd"), ScheduleKind::Wsd);
}

}  // namespace
}  // namespace sputnik::train
