// Causal GQA attention core: gradient (Dk != Dv, 2 query heads per kv head), causality; bf16
// compute (operands packed once per head, products over causal blocks) against f32.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "gradcheck.h"
#include "train/attention.h"
#include "train/precision.h"

namespace sputnik::train {
namespace {

using testing::dot;
using testing::expect_grad;
using testing::randn;

TEST(Attention, GradientGqa) {
  std::mt19937 rng(21);
  AttentionShape s{.B = 2, .S = 5, .Hq = 4, .Hkv = 2, .Dk = 6, .Dv = 3, .scale = 0.4f};
  auto q = randn(size_t(s.B * s.S * s.Hq * s.Dk), rng);
  auto k = randn(size_t(s.B * s.S * s.Hkv * s.Dk), rng);
  auto v = randn(size_t(s.B * s.S * s.Hkv * s.Dv), rng);
  auto r = randn(size_t(s.B * s.S * s.Hq * s.Dv), rng);
  std::vector<float> out(r.size()), probs(size_t(s.probs_size()));
  auto loss = [&] {
    attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), s);
    return dot(out, r);
  };
  loss();
  std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), q.data(), k.data(), v.data(), probs.data(), s);
  expect_grad("q", q.data(), dq.data(), q.size(), loss, rng, {.samples = 40});
  expect_grad("k", k.data(), dk.data(), k.size(), loss, rng, {.samples = 40});
  expect_grad("v", v.data(), dv.data(), v.size(), loss, rng, {.samples = 40});
}

TEST(Attention, CausalAndFirstPositionCopiesValue) {
  std::mt19937 rng(22);
  AttentionShape s{.B = 1, .S = 6, .Hq = 2, .Hkv = 1, .Dk = 4, .Dv = 4, .scale = 0.5f};
  auto q = randn(size_t(s.S * s.Hq * s.Dk), rng);
  auto k = randn(size_t(s.S * s.Hkv * s.Dk), rng);
  auto v = randn(size_t(s.S * s.Hkv * s.Dv), rng);
  std::vector<float> out(size_t(s.S * s.Hq * s.Dv)), out2(out.size()), probs(size_t(s.probs_size()));
  attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), s);
  for (int64_t h = 0; h < s.Hq; ++h)
    for (int64_t d = 0; d < s.Dv; ++d) EXPECT_NEAR(out[size_t(h * s.Dv + d)], v[size_t(d)], 1e-6);
  // Changing the last position's key and value must not change any earlier output.
  for (int64_t d = 0; d < s.Dk; ++d) k[size_t((s.S - 1) * s.Dk + d)] += 3.0f;
  for (int64_t d = 0; d < s.Dv; ++d) v[size_t((s.S - 1) * s.Dv + d)] -= 2.0f;
  attention_forward(out2.data(), probs.data(), q.data(), k.data(), v.data(), s);
  const size_t before_last = size_t((s.S - 1) * s.Hq * s.Dv);
  for (size_t i = 0; i < before_last; ++i) EXPECT_EQ(out[i], out2[i]);
  bool last_changed = false;
  for (size_t i = before_last; i < out.size(); ++i) last_changed |= out[i] != out2[i];
  EXPECT_TRUE(last_changed);
  s.Hkv = 3;
  EXPECT_THROW(attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), s), Error);
}

TEST(Attention, LongSequenceAcrossCausalBlocks) {
  // S = 150 spans three 64-row causal blocks (the last one partial): outputs against a direct
  // double-precision softmax, gradients by finite differences.
  std::mt19937 rng(23);
  AttentionShape s{.B = 1, .S = 150, .Hq = 2, .Hkv = 1, .Dk = 8, .Dv = 4, .scale = 0.35f};
  auto q = randn(size_t(s.S * s.Hq * s.Dk), rng);
  auto k = randn(size_t(s.S * s.Hkv * s.Dk), rng);
  auto v = randn(size_t(s.S * s.Hkv * s.Dv), rng);
  auto r = randn(size_t(s.S * s.Hq * s.Dv), rng);
  std::vector<float> out(r.size()), probs(size_t(s.probs_size()));
  attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), s);
  double worst = 0;
  for (int64_t h = 0; h < s.Hq; ++h)
    for (int64_t i = 0; i < s.S; ++i) {
      std::vector<double> w(size_t(i + 1));
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double d = 0;
        for (int64_t c = 0; c < s.Dk; ++c) d += double(q[size_t((i * s.Hq + h) * s.Dk + c)]) * k[size_t(j * s.Dk + c)];
        w[size_t(j)] = d * s.scale;
        mx = std::max(mx, w[size_t(j)]);
      }
      for (auto& x : w) sum += (x = std::exp(x - mx));
      for (int64_t c = 0; c < s.Dv; ++c) {
        double o = 0;
        for (int64_t j = 0; j <= i; ++j) o += w[size_t(j)] / sum * v[size_t(j * s.Dv + c)];
        worst = std::max(worst, std::abs(o - out[size_t((i * s.Hq + h) * s.Dv + c)]));
      }
    }
  EXPECT_LT(worst, 1e-5);
  auto loss = [&] {
    attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), s);
    return dot(out, r);
  };
  std::vector<float> dq(q.size(), 0.0f), dk(k.size(), 0.0f), dv(v.size(), 0.0f);
  attention_backward(dq.data(), dk.data(), dv.data(), r.data(), q.data(), k.data(), v.data(), probs.data(), s);
  expect_grad("q", q.data(), dq.data(), q.size(), loss, rng, {.samples = 40});
  expect_grad("k", k.data(), dk.data(), k.size(), loss, rng, {.samples = 40});
  expect_grad("v", v.data(), dv.data(), v.size(), loss, rng, {.samples = 40});
}

TEST(Attention, Bf16BlocksFollowF32) {
  // In bf16 mode each head's K, V, Q and dO are packed once and the causal blocks multiply parts
  // of them (K prefixes and suffixes). The f32 path takes the same parts from the f32 arrays and
  // is checked by finite differences above; a packed part misplaced against it would be off by
  // O(1), bf16 rounding only by ~1e-2 relative.
  std::mt19937 rng(29);
  AttentionShape s{.B = 2, .S = 150, .Hq = 4, .Hkv = 2, .Dk = 24, .Dv = 16, .scale = 0.2f};
  auto q = randn(size_t(s.B * s.S * s.Hq * s.Dk), rng);
  auto k = randn(size_t(s.B * s.S * s.Hkv * s.Dk), rng);
  auto v = randn(size_t(s.B * s.S * s.Hkv * s.Dv), rng);
  auto r = randn(size_t(s.B * s.S * s.Hq * s.Dv), rng);
  struct Result {
    std::vector<float> out, dq, dk, dv;
  };
  auto run = [&](bool bf16) {
    const BF16Scope scope(bf16);
    Result res{std::vector<float>(r.size()), std::vector<float>(q.size(), 0.0f), std::vector<float>(k.size(), 0.0f),
               std::vector<float>(v.size(), 0.0f)};
    std::vector<float> probs(size_t(s.probs_size()));
    attention_forward(res.out.data(), probs.data(), q.data(), k.data(), v.data(), s);
    attention_backward(res.dq.data(), res.dk.data(), res.dv.data(), r.data(), q.data(), k.data(), v.data(),
                       probs.data(), s);
    return res;
  };
  const Result f32 = run(false), bf = run(true);
  auto rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      den += double(b[i]) * b[i];
    }
    return std::sqrt(num / den);
  };
  const std::pair<const char*, double> errs[] = {{"out", rel(bf.out, f32.out)},
                                                 {"dq", rel(bf.dq, f32.dq)},
                                                 {"dk", rel(bf.dk, f32.dk)},
                                                 {"dv", rel(bf.dv, f32.dv)}};
  for (const auto& [name, e] : errs) {
    EXPECT_LT(e, 2e-2) << name;
    EXPECT_GT(e, 1e-5) << name << ": bf16 equals f32, so bf16 was not used";
  }
}

}  // namespace
}  // namespace sputnik::train
