// Rope::apply against the rotation computed here in double, with two tables of different
// parameters used in turn at the same and at changing positions (apply keeps the last position's
// cos/sin per thread: a stale table would rotate by the wrong angles).
#include "kernels/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace sputnik {
namespace {

std::vector<float> rotated(const Rope& rope, double mult, std::vector<float> x, int64_t pos, bool half_layout) {
  const int64_t half = rope.dim() / 2;
  for (int64_t i = 0; i < half; ++i) {
    const double angle = double(float(pos) * rope.inv_freq()[size_t(i)]);
    const size_t a = size_t(half_layout ? i : 2 * i), b = size_t(half_layout ? i + half : 2 * i + 1);
    const double x0 = x[a], x1 = x[b];
    x[a] = float(x0 * std::cos(angle) * mult - x1 * std::sin(angle) * mult);
    x[b] = float(x1 * std::cos(angle) * mult + x0 * std::sin(angle) * mult);
  }
  return x;
}

TEST(Rope, TablesOfDifferentRopesAndPositionsDoNotMix) {
  RopeParams pa;
  pa.dim = 64;
  pa.theta = 10000.0;
  RopeParams pb = pa;
  pb.theta = 1000000.0;
  pb.layout = RopeLayout::Interleaved;
  pb.mult = 1.25;
  const Rope a(pa), b(pb);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  std::vector<float> x(64);
  for (auto& v : x) v = dist(rng);
  for (int64_t pos : {7, 7, 300, 7, 0, 12345}) {
    for (int which = 0; which < 2; ++which) {
      const Rope& r = which ? b : a;
      std::vector<float> got = x;
      r.apply(got.data(), 1, 64, pos);
      const auto want = rotated(r, which ? 1.25 : 1.0, x, pos, !which);
      for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-5f * (1 + std::fabs(want[i]))) << pos << " " << which << " " << i;
    }
  }
}

}  // namespace
}  // namespace sputnik
