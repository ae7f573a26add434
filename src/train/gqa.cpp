#include "train/gqa.h"

#include <cmath>

#include "core/error.h"
#include "train/attention.h"
#include "train/linear.h"

namespace sputnik::train {

namespace {

AttentionShape shape(const GqaSpec& s, int64_t B, int64_t S) {
  if (s.rope.rot_dim != s.D) fail("gqa: rope dimension {} differs from head dim {}", s.rope.rot_dim, s.D);
  AttentionShape a;
  a.B = B;
  a.S = S;
  a.Hq = s.Hq;
  a.Hkv = s.Hkv;
  a.Dk = a.Dv = s.D;
  a.scale = s.scale > 0 ? s.scale : 1.0f / std::sqrt(float(s.D));
  return a;
}

}  // namespace

void gqa_forward(const GqaSpec& s, const GqaWeights& w, const float* x, const int32_t* pos, int64_t B,
                 int64_t S, float* out, GqaActs& a) {
  const AttentionShape as = shape(s, B, S);
  const int64_t T = B * S, QD = s.Hq * s.D, KD = s.Hkv * s.D;
  a.q.resize(size_t(T * QD));
  a.k.resize(size_t(T * KD));
  a.v.resize(size_t(T * KD));
  a.att.resize(size_t(T * QD));
  a.probs.resize(size_t(as.probs_size()));
  linear_forward(a.q.data(), x, w.q, w.bq, T, s.C, QD);
  linear_forward(a.k.data(), x, w.k, w.bk, T, s.C, KD);
  linear_forward(a.v.data(), x, w.v, w.bv, T, s.C, KD);
  rope_forward(s.rope, a.q.data(), pos, T, s.Hq, s.D, 0);
  rope_forward(s.rope, a.k.data(), pos, T, s.Hkv, s.D, 0);
  attention_forward(a.att.data(), a.probs.data(), a.q.data(), a.k.data(), a.v.data(), as);
  linear_forward(out, a.att.data(), w.o, nullptr, T, QD, s.C);
}

void gqa_backward(const GqaSpec& s, const GqaWeights& w, const GqaGrads& g, const float* x,
                  const int32_t* pos, int64_t B, int64_t S, const float* dout, const GqaActs& a, float* dx) {
  const AttentionShape as = shape(s, B, S);
  const int64_t T = B * S, QD = s.Hq * s.D, KD = s.Hkv * s.D;
  std::vector<float> datt(size_t(T * QD), 0.0f), dq(size_t(T * QD), 0.0f), dk(size_t(T * KD), 0.0f),
      dv(size_t(T * KD), 0.0f);
  linear_backward(datt.data(), g.o, nullptr, dout, a.att.data(), w.o, T, QD, s.C);
  attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), a.q.data(), a.k.data(), a.v.data(),
                     a.probs.data(), as);
  rope_backward(s.rope, dq.data(), pos, T, s.Hq, s.D, 0);
  rope_backward(s.rope, dk.data(), pos, T, s.Hkv, s.D, 0);
  const GemmB xp(false, T, s.C, x, s.C);  // x converted once for the three weight gradients
  linear_backward(dx, g.q, g.bq, dq.data(), xp, w.q, T, s.C, QD);
  linear_backward(dx, g.k, g.bk, dk.data(), xp, w.k, T, s.C, KD);
  linear_backward(dx, g.v, g.bv, dv.data(), xp, w.v, T, s.C, KD);
}

}  // namespace sputnik::train
