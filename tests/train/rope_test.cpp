// RoPE: gradient, the two pair layouts, YaRN frequencies and scale.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "gradcheck.h"
#include "train/rope.h"

namespace sputnik::train {
namespace {

using testing::dot;
using testing::expect_grad;
using testing::randn;

TEST(Rope, GradientBothLayoutsWithOffset) {
  std::mt19937 rng(11);
  const int64_t T = 5, H = 3, stride = 10, off = 4, rd = 6;
  std::vector<int32_t> pos = {0, 1, 2, 7, 300};
  for (bool inter : {false, true}) {
    YarnParams yarn{.factor = 4.0, .original_max_position = 64};
    const RopeTable rope = make_rope_table(rd, inter, 10000.0, yarn, 1.3f);
    auto x = randn(size_t(T * H * stride), rng);
    auto r = randn(x.size(), rng);
    std::vector<float> y;
    auto loss = [&] {
      y = x;
      rope_forward(rope, y.data(), pos.data(), T, H, stride, off);
      return dot(y, r);
    };
    loss();
    // Dims outside the rotated section pass through untouched.
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < off; ++d) EXPECT_EQ(y[size_t((t * H + h) * stride + d)], x[size_t((t * H + h) * stride + d)]);
    std::vector<float> dx = r;
    rope_backward(rope, dx.data(), pos.data(), T, H, stride, off);
    expect_grad(inter ? "x_interleaved" : "x_half", x.data(), dx.data(), x.size(), loss, rng, {.samples = 40});
  }
}

TEST(Rope, PairLayoutAndAngles) {
  const int64_t rd = 4;
  const RopeTable half = make_rope_table(rd, false, 100.0, {}, 1.0f);
  const RopeTable inter = make_rope_table(rd, true, 100.0, {}, 1.0f);
  ASSERT_EQ(half.inv_freq.size(), 2u);
  EXPECT_FLOAT_EQ(half.inv_freq[0], 1.0f);
  EXPECT_NEAR(half.inv_freq[1], 0.1f, 1e-7);  // 100^(-2/4)
  const int32_t pos = 3;
  // Pair 0 only: rotate_half pairs (0, 2); interleaved pairs (0, 1).
  std::vector<float> a = {1, 0, 0, 0}, b = {1, 0, 0, 0};
  rope_forward(half, a.data(), &pos, 1, 1, rd, 0);
  rope_forward(inter, b.data(), &pos, 1, 1, rd, 0);
  EXPECT_NEAR(a[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(a[2], std::sin(3.0), 1e-6);
  EXPECT_EQ(a[1], 0.0f);
  EXPECT_NEAR(b[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(b[1], std::sin(3.0), 1e-6);
  EXPECT_EQ(b[2], 0.0f);
}

TEST(Rope, YarnKeepsFastAndStretchesSlowFrequencies) {
  const int64_t rd = 64;
  const double theta = 10000.0, factor = 40.0;
  const YarnParams yarn{.factor = factor, .original_max_position = 4096, .beta_fast = 32, .beta_slow = 1};
  const RopeTable plain = make_rope_table(rd, true, theta, {}, 1.0f);
  const RopeTable y = make_rope_table(rd, true, theta, yarn, 1.0f);
  EXPECT_FLOAT_EQ(y.inv_freq[0], plain.inv_freq[0]);  // many turns in the context: untouched
  EXPECT_NEAR(y.inv_freq[31], plain.inv_freq[31] / factor, 1e-12);  // slow: interpolated
  for (size_t i = 1; i < y.inv_freq.size(); ++i) EXPECT_LE(y.inv_freq[i], y.inv_freq[i - 1]);
  EXPECT_NEAR(yarn_mscale(40.0, 1.0), 0.1 * std::log(40.0) + 1.0, 1e-12);
  EXPECT_EQ(yarn_mscale(1.0, 1.0), 1.0);
  EXPECT_THROW(make_rope_table(5, true, theta, {}, 1.0f), Error);
}

TEST(Rope, ScaleMultipliesNorm) {
  std::mt19937 rng(12);
  const RopeTable rope = make_rope_table(8, false, 10000.0, {}, 1.5f);
  auto x = randn(8, rng);
  auto y = x;
  const int32_t pos = 17;
  rope_forward(rope, y.data(), &pos, 1, 1, 8, 0);
  EXPECT_NEAR(std::sqrt(dot(y, y)), 1.5 * std::sqrt(dot(x, x)), 1e-4);
}

}  // namespace
}  // namespace sputnik::train
