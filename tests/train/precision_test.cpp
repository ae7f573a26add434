// train::gemm in bf16 mode: every transpose combination against a double-precision product of the
// bf16-rounded inputs; f32 mode against the unrounded inputs; odd sizes so that partial tiles are
// covered. gemm_weight: the same numbers, and its packing kept for exactly one WeightPackScope.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <random>
#include <vector>

#include "kernels/quant.h"
#include "train/fast_exp.h"
#include "train/precision.h"

namespace sputnik::train {
namespace {

float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }

void check(bool bf16, bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
  std::mt19937 rng(uint32_t(m * 131 + n * 7 + k + ta * 2 + tb));
  std::normal_distribution<float> nd;
  const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
  std::vector<float> a(size_t((ta ? k : m) * lda)), b(size_t((tb ? n : k) * ldb)), c(size_t(m * ldc));
  for (auto& v : a) v = nd(rng);
  for (auto& v : b) v = nd(rng);
  for (auto& v : c) v = nd(rng);
  const std::vector<float> c0 = c;
  {
    const BF16Scope scope(bf16);
    EXPECT_EQ(bf16_compute(), bf16);
    gemm(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 1.0f, c.data(), ldc);
  }
  EXPECT_FALSE(bf16_compute());  // the scope restored f32
  auto r = [&](float x) { return bf16 ? round_bf16(x) : x; };
  double worst = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p)
        s += double(r(ta ? a[p * lda + i] : a[i * lda + p])) * r(tb ? b[j * ldb + p] : b[p * ldb + j]);
      const double want = 0.5 * s + c0[i * ldc + j];
      worst = std::max(worst, std::abs(c[i * ldc + j] - want) / (1.0 + std::abs(want)));
    }
  EXPECT_LT(worst, 1e-5) << "bf16 " << bf16 << " trans " << ta << tb << " " << m << "x" << n << "x" << k;
}

TEST(TrainGemm, AllTransposesBothPrecisions) {
  for (bool bf16 : {false, true})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check(bf16, ta, tb, 37, 50, 33);
        check(bf16, ta, tb, 64, 48, 32);
        check(bf16, ta, tb, 1, 17, 70);
      }
}

TEST(TrainGemm, Bf16DiffersFromF32) {
  // Guards against the bf16 path silently running in f32: rounding must show.
  std::vector<float> a(64, 1.0f + 1.0f / 512), b(64, 1.0f), c32(1), c16(1);
  gemm(false, true, 1, 1, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c32.data(), 1);
  {
    const BF16Scope scope(true);
    gemm(false, true, 1, 1, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c16.data(), 1);
  }
  EXPECT_FLOAT_EQ(c32[0], 64.0f + 64.0f / 512);
  EXPECT_FLOAT_EQ(c16[0], 64.0f);  // 1 + 2^-9 rounds to 1 in bf16 (8 mantissa bits)
}

// out = x·wᵀ (as linear_forward) and x2·w (as its input gradient) through gemm_weight.
void weight_products(const std::vector<float>& x, const std::vector<float>& w, std::vector<float>& fwd,
                     std::vector<float>& bwd, int64_t T, int64_t C, int64_t OC) {
  fwd.assign(size_t(T * OC), 0.0f);
  bwd.assign(size_t(T * C), 0.0f);
  gemm_weight(false, true, T, OC, C, 1.0f, x.data(), C, w.data(), C, 0.0f, fwd.data(), OC);
  gemm_weight(false, false, T, C, OC, 1.0f, fwd.data(), OC, w.data(), C, 0.0f, bwd.data(), C);
}

TEST(TrainGemm, WeightPackingLastsOneScope) {
  const int64_t T = 19, C = 45, OC = 37;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  std::vector<float> x(size_t(T * C)), w(size_t(OC * C));
  for (auto& v : x) v = nd(rng);
  for (auto& v : w) v = nd(rng);
  const BF16Scope bf16(true);
  std::vector<float> want_fwd(size_t(T * OC)), want_bwd(size_t(T * C)), fwd, bwd;
  auto reference = [&] {  // plain gemm packs w on every call
    gemm(false, true, T, OC, C, 1.0f, x.data(), C, w.data(), C, 0.0f, want_fwd.data(), OC);
    std::fill(want_bwd.begin(), want_bwd.end(), 0.0f);
    gemm(false, false, T, C, OC, 1.0f, want_fwd.data(), OC, w.data(), C, 0.0f, want_bwd.data(), C);
  };
  reference();
  weight_products(x, w, fwd, bwd, T, C, OC);  // no scope: packs per call
  EXPECT_EQ(fwd, want_fwd);
  EXPECT_EQ(bwd, want_bwd);
  {
    const WeightPackScope scope;
    weight_products(x, w, fwd, bwd, T, C, OC);
    EXPECT_EQ(fwd, want_fwd);
    EXPECT_EQ(bwd, want_bwd);
    // Inside the scope the weight counts as fixed: a change is not seen (the contract that lets
    // TrainModel pack each weight once per forward + backward).
    const std::vector<float> before = fwd;
    for (auto& v : w) v *= 2.0f;
    weight_products(x, w, fwd, bwd, T, C, OC);
    EXPECT_EQ(fwd, before);
  }
  {
    const WeightPackScope scope;  // a new scope sees the changed weight
    weight_products(x, w, fwd, bwd, T, C, OC);
    reference();
    EXPECT_EQ(fwd, want_fwd);
    EXPECT_EQ(bwd, want_bwd);
  }
}

TEST(TrainGemm, WeightPackingFollowsEachThreadsOwnScope) {
  // Two models trained on two threads: a scope left open on one thread must not make the other
  // thread reuse a packing from before its optimizer step.
  const int64_t T = 9, C = 20, OC = 12;
  std::mt19937 rng(6);
  std::normal_distribution<float> nd;
  std::vector<float> x(size_t(T * C)), w(size_t(OC * C)), other(size_t(OC * C));
  for (auto& v : x) v = nd(rng);
  for (auto& v : w) v = nd(rng);
  for (auto& v : other) v = nd(rng);
  std::vector<float> out(size_t(T * OC)), want(size_t(T * OC)), unused, unused2;
  const BF16Scope bf16(true);
  std::mutex mu;
  std::condition_variable cv;
  int stage = 0;
  std::thread t([&] {  // holds a scope open over the main thread's two scopes
    const BF16Scope bf(true);
    const WeightPackScope scope;
    weight_products(x, other, unused, unused2, T, C, OC);
    std::unique_lock lock(mu);
    stage = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return stage == 2; });
  });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return stage == 1; });
  }
  {
    const WeightPackScope scope;
    gemm_weight(false, true, T, OC, C, 1.0f, x.data(), C, w.data(), C, 0.0f, out.data(), OC);
  }
  for (auto& v : w) v = -v;  // the "optimizer step"
  {
    const WeightPackScope scope;
    gemm_weight(false, true, T, OC, C, 1.0f, x.data(), C, w.data(), C, 0.0f, out.data(), OC);
  }
  gemm(false, true, T, OC, C, 1.0f, x.data(), C, w.data(), C, 0.0f, want.data(), OC);
  EXPECT_EQ(out, want);
  {
    const std::lock_guard lock(mu);
    stage = 2;
  }
  cv.notify_all();
  t.join();
}

TEST(FastExp, WithinTwoUlpAndClamped) {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.0013f) {
    const double want = std::exp(double(x));
    worst = std::max(worst, std::abs(fast_exp(x) - want) / want);
  }
  EXPECT_LT(worst, 2.5 * 5.96e-8);  // 2 ulp of float, plus the reference's own rounding
  EXPECT_EQ(fast_exp(0.0f), 1.0f);
  EXPECT_GT(fast_exp(-1000.0f), 0.0f);  // clamped to e^-87, never a negative or NaN
  EXPECT_LT(fast_exp(-1000.0f), 1e-37f);
  EXPECT_TRUE(std::isfinite(fast_exp(1000.0f)));
}

}  // namespace
}  // namespace sputnik::train
