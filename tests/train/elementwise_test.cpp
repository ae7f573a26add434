// The AVX-512 paths of cross-entropy and SwiGLU (elementwise_avx512.cpp) against the portable
// loops, which the finite-difference and PyTorch tests check: same values to float rounding,
// on sizes that end in a partial vector, with rows far from zero (the max must be the row's own)
// and an ignored target.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "train/cross_entropy.h"
#include "train/swiglu.h"

namespace sputnik::train {
namespace {

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / (1e-6 + std::fabs(double(b[i]))));
  return worst;
}

class Avx512Paths : public ::testing::Test {
 protected:
  void SetUp() override {
    if (best_isa() != Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  }
  void TearDown() override { set_isa_cap(Isa::Avx512); }
};

TEST_F(Avx512Paths, CrossEntropyMatchesPortableLoops) {
  const int64_t T = 5, V = 1000 + 7;
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> logits(size_t(T * V));
  for (auto& x : logits) x = nd(rng);
  for (int64_t v = 0; v < V; ++v) logits[size_t(1 * V + v)] -= 300.0f;  // all far below 0
  for (int64_t v = 0; v < V; ++v) logits[size_t(2 * V + v)] += 60.0f;   // all far above 0
  const std::vector<int32_t> targets = {3, 1006, 0, kIgnoreIndex, 500};
  struct Out {
    float loss;
    std::vector<float> lse, grad, grad_inplace;
  };
  auto run = [&](Isa isa) {
    set_isa_cap(isa);
    Out o{0.0f, std::vector<float>(size_t(T)), std::vector<float>(logits.size(), 0.5f), logits};
    o.loss = cross_entropy_forward(o.lse.data(), logits.data(), targets.data(), T, V);
    cross_entropy_backward(o.grad.data(), logits.data(), o.lse.data(), targets.data(), T, V, 2.0f);
    cross_entropy_backward_inplace(o.grad_inplace.data(), o.lse.data(), targets.data(), T, V, 2.0f);
    return o;
  };
  const Out portable = run(Isa::Avx2), fast = run(Isa::Avx512);
  EXPECT_TRUE(std::isfinite(fast.loss));
  EXPECT_NEAR(fast.loss, portable.loss, 1e-5 * std::fabs(portable.loss));
  EXPECT_LT(max_rel(fast.lse, portable.lse), 1e-6);
  EXPECT_LT(max_rel(fast.grad, portable.grad), 1e-5);
  EXPECT_LT(max_rel(fast.grad_inplace, portable.grad_inplace), 1e-5);
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(fast.grad_inplace[size_t(3 * V + v)], 0.0f);  // ignored row
}

TEST_F(Avx512Paths, SwigluMatchesPortableLoops) {
  const int64_t n = 3 * 4096 + 13;  // several threads' chunks and a partial vector
  std::mt19937 rng(4);
  std::normal_distribution<float> nd(0.0f, 4.0f);
  std::vector<float> gate(static_cast<size_t>(n)), up(static_cast<size_t>(n)), dh(static_cast<size_t>(n));
  for (auto& x : gate) x = nd(rng);
  for (auto& x : up) x = nd(rng);
  for (auto& x : dh) x = nd(rng);
  gate[0] = 120.0f;  // saturated sigmoid on both sides
  gate[1] = -120.0f;
  auto run = [&](Isa isa, std::vector<float>& h, std::vector<float>& dg, std::vector<float>& du) {
    set_isa_cap(isa);
    h.assign(size_t(n), 0.0f);
    dg.assign(size_t(n), 0.25f);  // the backward adds into its outputs
    du.assign(size_t(n), -0.5f);
    swiglu_forward(h.data(), gate.data(), up.data(), n);
    swiglu_backward(dg.data(), du.data(), dh.data(), gate.data(), up.data(), n);
  };
  std::vector<float> h0, dg0, du0, h1, dg1, du1;
  run(Isa::Avx2, h0, dg0, du0);
  run(Isa::Avx512, h1, dg1, du1);
  EXPECT_LT(max_rel(h1, h0), 1e-5);
  EXPECT_LT(max_rel(dg1, dg0), 1e-4);
  EXPECT_LT(max_rel(du1, du0), 1e-4);
}

}  // namespace
}  // namespace sputnik::train
