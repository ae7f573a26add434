// Whole attention blocks: Qwen2 GQA (biases, rotate_half, YaRN scale) and DeepSeek MLA (with and
// without q_lora, interleaved rope on the decoupled key), every weight and the input.
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "train/gqa.h"
#include "train/mla.h"

namespace sputnik::train {
namespace {

using testing::dot;
using testing::expect_grad;
using testing::randn;

const testing::GradCheck kOpt{.samples = 16, .eps = 1e-2f, .rtol = 2e-2, .atol = 2e-3};

std::vector<int32_t> positions(int64_t B, int64_t S) {
  std::vector<int32_t> p;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) p.push_back(int32_t(s + 3 * b));  // batches may start anywhere
  return p;
}

TEST(GqaBlock, Gradient) {
  std::mt19937 rng(41);
  const int64_t B = 2, S = 4, C = 12, Hq = 4, Hkv = 2, D = 6;
  GqaSpec s;
  s.C = C;
  s.Hq = Hq;
  s.Hkv = Hkv;
  s.D = D;
  s.rope = make_rope_table(D, false, 10000.0, {.factor = 4.0, .original_max_position = 16},
                           float(yarn_mscale(4.0, 1.0)));
  auto wq = randn(size_t(Hq * D * C), rng, 0.3f), wk = randn(size_t(Hkv * D * C), rng, 0.3f),
       wv = randn(size_t(Hkv * D * C), rng, 0.3f), wo = randn(size_t(C * Hq * D), rng, 0.3f);
  auto bq = randn(size_t(Hq * D), rng, 0.2f), bk = randn(size_t(Hkv * D), rng, 0.2f),
       bv = randn(size_t(Hkv * D), rng, 0.2f);
  GqaWeights w{wq.data(), wk.data(), wv.data(), wo.data(), bq.data(), bk.data(), bv.data()};
  auto x = randn(size_t(B * S * C), rng);
  auto r = randn(x.size(), rng);
  auto pos = positions(B, S);
  std::vector<float> out(x.size());
  GqaActs acts;
  auto loss = [&] {
    gqa_forward(s, w, x.data(), pos.data(), B, S, out.data(), acts);
    return dot(out, r);
  };
  loss();
  std::vector<std::vector<float>> d;
  for (auto* v : {&wq, &wk, &wv, &wo, &bq, &bk, &bv, &x}) d.emplace_back(v->size(), 0.0f);
  GqaGrads g{d[0].data(), d[1].data(), d[2].data(), d[3].data(), d[4].data(), d[5].data(), d[6].data()};
  gqa_backward(s, w, g, x.data(), pos.data(), B, S, r.data(), acts, d[7].data());
  const char* names[] = {"q", "k", "v", "o", "bq", "bk", "bv", "x"};
  int i = 0;
  for (auto* v : {&wq, &wk, &wv, &wo, &bq, &bk, &bv, &x}) {
    expect_grad(names[i], v->data(), d[size_t(i)].data(), v->size(), loss, rng, kOpt);
    ++i;
  }
}

void mla_case(bool q_lora) {
  std::mt19937 rng(q_lora ? 42 : 43);
  const int64_t B = 2, S = 4, C = 12, H = 3, qr = 8, r = 6, dn = 4, dr = 4, dv = 5;
  MlaSpec s;
  s.C = C;
  s.H = H;
  s.q_lora_rank = q_lora ? qr : 0;
  s.kv_lora_rank = r;
  s.qk_nope = dn;
  s.qk_rope = dr;
  s.v_head = dv;
  const double factor = 8.0;
  s.rope = make_rope_table(dr, true, 10000.0, {.factor = factor, .original_max_position = 16}, 1.0f);
  const double m = yarn_mscale(factor, 0.707);
  s.scale = float(1.0 / std::sqrt(double(dn + dr)) * m * m);
  const int64_t QD = H * (dn + dr);
  std::vector<std::vector<float>> p = {
      randn(size_t(QD * C), rng, 0.3f),            // 0 q_proj
      randn(size_t(qr * C), rng, 0.3f),            // 1 q_a_proj
      randn(size_t(qr), rng, 0.2f, 1.0f),          // 2 q_a_norm
      randn(size_t(QD * qr), rng, 0.3f),           // 3 q_b_proj
      randn(size_t((r + dr) * C), rng, 0.3f),      // 4 kv_a_proj_with_mqa
      randn(size_t(r), rng, 0.2f, 1.0f),           // 5 kv_a_norm
      randn(size_t(H * (dn + dv) * r), rng, 0.3f), // 6 kv_b_proj
      randn(size_t(C * H * dv), rng, 0.3f),        // 7 o_proj
  };
  MlaWeights w{p[0].data(), p[1].data(), p[2].data(), p[3].data(), p[4].data(), p[5].data(), p[6].data(), p[7].data()};
  if (q_lora) w.q_proj = nullptr;
  else w.q_a_proj = w.q_a_norm = w.q_b_proj = nullptr;
  auto x = randn(size_t(B * S * C), rng);
  auto rr = randn(size_t(B * S * C), rng);
  auto pos = positions(B, S);
  std::vector<float> out(x.size());
  MlaActs acts;
  auto loss = [&] {
    mla_forward(s, w, x.data(), pos.data(), B, S, out.data(), acts);
    return dot(out, rr);
  };
  loss();
  std::vector<std::vector<float>> d;
  for (auto& v : p) d.emplace_back(v.size(), 0.0f);
  std::vector<float> dx(x.size(), 0.0f);
  MlaGrads g{d[0].data(), d[1].data(), d[2].data(), d[3].data(), d[4].data(), d[5].data(), d[6].data(), d[7].data()};
  mla_backward(s, w, g, x.data(), pos.data(), B, S, rr.data(), acts, dx.data());
  const char* names[] = {"q_proj", "q_a_proj", "q_a_norm", "q_b_proj", "kv_a_proj", "kv_a_norm", "kv_b_proj", "o_proj"};
  for (size_t i = 0; i < p.size(); ++i) {
    const bool used = q_lora ? i != 0 : (i == 0 || i >= 4);
    if (!used) {
      for (float v : d[i]) EXPECT_EQ(v, 0.0f) << names[i] << " unused but got gradient";
      continue;
    }
    expect_grad(names[i], p[i].data(), d[i].data(), p[i].size(), loss, rng, kOpt);
  }
  expect_grad("x", x.data(), dx.data(), x.size(), loss, rng, kOpt);
}

TEST(MlaBlock, GradientWithQLora) { mla_case(true); }
TEST(MlaBlock, GradientWithPlainQProj) { mla_case(false); }

}  // namespace
}  // namespace sputnik::train
