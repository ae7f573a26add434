// Finite-difference and property tests for the elementwise/row ops: embedding, RMSNorm, linear,
// SwiGLU MLP, cross-entropy.
#include <gtest/gtest.h>

#include "core/error.h"
#include "gradcheck.h"
#include "train/cross_entropy.h"
#include "train/embedding.h"
#include "train/linear.h"
#include "train/rmsnorm.h"
#include "train/swiglu.h"

namespace sputnik::train {
namespace {

using testing::dot;
using testing::expect_grad;
using testing::randn;

TEST(Embedding, GradientAndBadToken) {
  std::mt19937 rng(1);
  const int64_t V = 5, C = 6, T = 9;
  std::vector<int32_t> tok = {0, 1, 2, 3, 4, 2, 2, 0, 4};  // repeats must accumulate
  auto table = randn(size_t(V * C), rng);
  auto r = randn(size_t(T * C), rng);
  std::vector<float> out(size_t(T * C)), dtable(size_t(V * C), 0.0f);
  auto loss = [&] {
    embedding_forward(out.data(), tok.data(), table.data(), T, V, C);
    return dot(out, r);
  };
  loss();
  for (int64_t c = 0; c < C; ++c) EXPECT_EQ(out[size_t(3 * C + c)], table[size_t(3 * C + c)]);
  embedding_backward(dtable.data(), r.data(), tok.data(), T, C);
  expect_grad("table", table.data(), dtable.data(), table.size(), loss, rng, {.samples = 30});
  tok[4] = int32_t(V);
  EXPECT_THROW(embedding_forward(out.data(), tok.data(), table.data(), T, V, C), Error);
  tok[4] = -1;
  EXPECT_THROW(embedding_forward(out.data(), tok.data(), table.data(), T, V, C), Error);
}

TEST(RmsNorm, ForwardValueAndGradient) {
  std::mt19937 rng(2);
  const int64_t T = 5, C = 16;
  const float eps = 1e-6f;
  auto x = randn(size_t(T * C), rng, 2.0f, 0.3f);
  auto w = randn(size_t(C), rng, 0.5f, 1.0f);
  auto r = randn(size_t(T * C), rng);
  std::vector<float> out(size_t(T * C)), rstd(static_cast<size_t>(T)), dx(x.size(), 0.0f), dw(w.size(), 0.0f);
  auto loss = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), T, C, eps);
    return dot(out, r);
  };
  loss();
  double ms = 0;
  for (int64_t c = 0; c < C; ++c) ms += double(x[size_t(C + c)]) * x[size_t(C + c)];
  const double rs = 1.0 / std::sqrt(ms / C + eps);
  for (int64_t c = 0; c < C; ++c) EXPECT_NEAR(out[size_t(C + c)], x[size_t(C + c)] * rs * w[size_t(c)], 1e-5);
  rmsnorm_backward(dx.data(), dw.data(), r.data(), x.data(), w.data(), rstd.data(), T, C);
  expect_grad("x", x.data(), dx.data(), x.size(), loss, rng, {.eps = 3e-3f});
  expect_grad("w", w.data(), dw.data(), w.size(), loss, rng);
}

TEST(Linear, GradientWithAndWithoutBias) {
  std::mt19937 rng(3);
  const int64_t T = 7, C = 12, OC = 10;
  auto x = randn(size_t(T * C), rng);
  auto w = randn(size_t(OC * C), rng, 0.3f);
  auto b = randn(size_t(OC), rng);
  auto r = randn(size_t(T * OC), rng);
  for (bool bias : {true, false}) {
    std::vector<float> out(size_t(T * OC)), dx(x.size(), 0.0f), dw(w.size(), 0.0f), db(b.size(), 0.0f);
    auto loss = [&] {
      linear_forward(out.data(), x.data(), w.data(), bias ? b.data() : nullptr, T, C, OC);
      return dot(out, r);
    };
    loss();
    double y = bias ? b[3] : 0.0;
    for (int64_t c = 0; c < C; ++c) y += double(x[size_t(2 * C + c)]) * w[size_t(3 * C + c)];
    EXPECT_NEAR(out[size_t(2 * OC + 3)], y, 1e-4);
    linear_backward(dx.data(), dw.data(), bias ? db.data() : nullptr, r.data(), x.data(), w.data(), T, C, OC);
    expect_grad("x", x.data(), dx.data(), x.size(), loss, rng);
    expect_grad("w", w.data(), dw.data(), w.size(), loss, rng);
    if (bias) expect_grad("b", b.data(), db.data(), b.size(), loss, rng);
  }
}

TEST(SwiGlu, MlpGradient) {
  std::mt19937 rng(4);
  const int64_t T = 6, C = 8, F = 12;
  auto x = randn(size_t(T * C), rng);
  auto wg = randn(size_t(F * C), rng, 0.5f), wu = randn(size_t(F * C), rng, 0.5f),
       wd = randn(size_t(C * F), rng, 0.3f);
  auto r = randn(size_t(T * C), rng);
  MlpWeights w{wg.data(), wu.data(), wd.data(), C, F};
  std::vector<float> out(size_t(T * C)), dx(x.size(), 0.0f), dg(wg.size(), 0.0f), du(wu.size(), 0.0f),
      dd(wd.size(), 0.0f);
  MlpActs acts;
  auto loss = [&] {
    mlp_forward(w, x.data(), T, out.data(), acts);
    return dot(out, r);
  };
  loss();
  // silu(g)·u at one hidden unit, by hand.
  double g = 0, u = 0;
  for (int64_t c = 0; c < C; ++c) {
    g += double(x[size_t(c)]) * wg[size_t(2 * C + c)];
    u += double(x[size_t(c)]) * wu[size_t(2 * C + c)];
  }
  EXPECT_NEAR(acts.h[2], g / (1 + std::exp(-g)) * u, 1e-4);
  mlp_backward(w, MlpGrads{dg.data(), du.data(), dd.data()}, x.data(), T, r.data(), acts, dx.data());
  expect_grad("x", x.data(), dx.data(), x.size(), loss, rng);
  expect_grad("gate", wg.data(), dg.data(), wg.size(), loss, rng);
  expect_grad("up", wu.data(), du.data(), wu.size(), loss, rng);
  expect_grad("down", wd.data(), dd.data(), wd.size(), loss, rng);
}

TEST(CrossEntropy, ValueGradientAndIgnoreIndex) {
  std::mt19937 rng(5);
  const int64_t T = 6, V = 11;
  auto logits = randn(size_t(T * V), rng, 2.0f);
  std::vector<int32_t> tgt = {3, kIgnoreIndex, 0, 10, kIgnoreIndex, 7};
  std::vector<float> lse(static_cast<size_t>(T)), dl(logits.size(), 0.0f);
  auto loss = [&] { return double(cross_entropy_forward(lse.data(), logits.data(), tgt.data(), T, V)); };
  const double l = loss();
  double ref = 0;
  int n = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (tgt[size_t(t)] == kIgnoreIndex) continue;
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(double(logits[size_t(t * V + v)]));
    ref += std::log(s) - logits[size_t(t * V + tgt[size_t(t)])];
    ++n;
  }
  EXPECT_NEAR(l, ref / n, 1e-5);
  const float dloss = 1.7f;
  cross_entropy_backward(dl.data(), logits.data(), lse.data(), tgt.data(), T, V, dloss);
  for (int64_t v = 0; v < V; ++v) EXPECT_EQ(dl[size_t(V + v)], 0.0f) << "ignored row got gradient";
  std::vector<float> scaled(dl.size());
  for (size_t i = 0; i < dl.size(); ++i) scaled[i] = dl[i] / dloss;
  // Sample only rows that carry gradient: the ignored rows were checked above.
  expect_grad("logits", logits.data(), scaled.data(), size_t(V), loss, rng, {.samples = int(V), .eps = 1e-3f});
  expect_grad("logits_row5", logits.data() + 5 * V, scaled.data() + 5 * V, size_t(V), loss, rng,
              {.samples = int(V), .eps = 1e-3f});
  tgt[0] = int32_t(V);
  EXPECT_THROW(cross_entropy_forward(lse.data(), logits.data(), tgt.data(), T, V), Error);
  std::vector<int32_t> none(size_t(T), kIgnoreIndex);
  EXPECT_EQ(cross_entropy_forward(lse.data(), logits.data(), none.data(), T, V), 0.0f);
}

}  // namespace
}  // namespace sputnik::train
