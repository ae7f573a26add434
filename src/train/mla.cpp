#include "train/mla.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/threads.h"
#include "train/attention.h"
#include "train/grain.h"
#include "train/linear.h"
#include "train/rmsnorm.h"

namespace sputnik::train {

namespace {

AttentionShape shape(const MlaSpec& s, int64_t B, int64_t S) {
  if (s.rope.rot_dim != s.qk_rope)
    fail("mla: rope dimension {} differs from qk_rope_head_dim {}", s.rope.rot_dim, s.qk_rope);
  AttentionShape a;
  a.B = B;
  a.S = S;
  a.Hq = a.Hkv = s.H;
  a.Dk = s.qk_nope + s.qk_rope;
  a.Dv = s.v_head;
  a.scale = s.scale > 0 ? s.scale : 1.0f / std::sqrt(float(a.Dk));
  return a;
}

}  // namespace

void mla_forward(const MlaSpec& s, const MlaWeights& w, const float* x, const int32_t* pos, int64_t B,
                 int64_t S, float* out, MlaActs& a) {
  const AttentionShape as = shape(s, B, S);
  const int64_t T = B * S, H = s.H, dn = s.qk_nope, dr = s.qk_rope, dv = s.v_head, r = s.kv_lora_rank;
  const int64_t dk = dn + dr, QD = H * dk;
  a.q.resize(size_t(T * QD));
  if (s.q_lora_rank > 0) {
    const int64_t qr = s.q_lora_rank;
    a.cq.resize(size_t(T * qr));
    a.cqn.resize(size_t(T * qr));
    a.rstd_q.resize(static_cast<size_t>(T));
    linear_forward(a.cq.data(), x, w.q_a_proj, nullptr, T, s.C, qr);
    rmsnorm_forward(a.cqn.data(), a.rstd_q.data(), a.cq.data(), w.q_a_norm, T, qr, s.eps);
    linear_forward(a.q.data(), a.cqn.data(), w.q_b_proj, nullptr, T, qr, QD);
  } else {
    linear_forward(a.q.data(), x, w.q_proj, nullptr, T, s.C, QD);
  }
  rope_forward(s.rope, a.q.data(), pos, T, H, dk, dn);

  std::vector<float> kva(size_t(T * (r + dr))), kr(size_t(T * dr)), kvb(size_t(T * H * (dn + dv)));
  linear_forward(kva.data(), x, w.kv_a_proj, nullptr, T, s.C, r + dr);
  a.lat.resize(size_t(T * r));
  parallel_for(T, row_grain(r + dr), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      std::copy_n(kva.data() + t * (r + dr), r, a.lat.data() + t * r);
      std::copy_n(kva.data() + t * (r + dr) + r, dr, kr.data() + t * dr);
    }
  });
  a.latn.resize(size_t(T * r));
  a.rstd_kv.resize(static_cast<size_t>(T));
  rmsnorm_forward(a.latn.data(), a.rstd_kv.data(), a.lat.data(), w.kv_a_norm, T, r, s.eps);
  linear_forward(kvb.data(), a.latn.data(), w.kv_b_proj, nullptr, T, r, H * (dn + dv));
  rope_forward(s.rope, kr.data(), pos, T, 1, dr, 0);

  a.k.resize(size_t(T * QD));
  a.v.resize(size_t(T * H * dv));
  parallel_for(T, row_grain(H * (dk + dv)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      for (int64_t h = 0; h < H; ++h) {
        const float* src = kvb.data() + (t * H + h) * (dn + dv);
        float* kd = a.k.data() + (t * H + h) * dk;
        std::copy_n(src, dn, kd);
        std::copy_n(kr.data() + t * dr, dr, kd + dn);
        std::copy_n(src + dn, dv, a.v.data() + (t * H + h) * dv);
      }
    }
  });
  a.probs.resize(size_t(as.probs_size()));
  a.att.resize(size_t(T * H * dv));
  attention_forward(a.att.data(), a.probs.data(), a.q.data(), a.k.data(), a.v.data(), as);
  linear_forward(out, a.att.data(), w.o_proj, nullptr, T, H * dv, s.C);
}

void mla_backward(const MlaSpec& s, const MlaWeights& w, const MlaGrads& g, const float* x,
                  const int32_t* pos, int64_t B, int64_t S, const float* dout, const MlaActs& a, float* dx) {
  const AttentionShape as = shape(s, B, S);
  const int64_t T = B * S, H = s.H, dn = s.qk_nope, dr = s.qk_rope, dv = s.v_head, r = s.kv_lora_rank;
  const int64_t dk = dn + dr, QD = H * dk;
  std::vector<float> datt(size_t(T * H * dv), 0.0f), dq(size_t(T * QD), 0.0f), dkk(size_t(T * QD), 0.0f),
      dvv(size_t(T * H * dv), 0.0f);
  linear_backward(datt.data(), g.o_proj, nullptr, dout, a.att.data(), w.o_proj, T, H * dv, s.C);
  attention_backward(dq.data(), dkk.data(), dvv.data(), datt.data(), a.q.data(), a.k.data(), a.v.data(),
                     a.probs.data(), as);

  // Split the per-head key/value gradients back into kv_b rows and the one shared rope key.
  std::vector<float> dkvb(size_t(T * H * (dn + dv))), dkva(size_t(T * (r + dr)), 0.0f), dkr(size_t(T * dr), 0.0f);
  parallel_for(T, row_grain(H * (dk + dv)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      for (int64_t h = 0; h < H; ++h) {
        const float* src = dkk.data() + (t * H + h) * dk;
        float* dst = dkvb.data() + (t * H + h) * (dn + dv);
        std::copy_n(src, dn, dst);
        std::copy_n(dvv.data() + (t * H + h) * dv, dv, dst + dn);
        for (int64_t i = 0; i < dr; ++i) dkr[size_t(t * dr + i)] += src[dn + i];
      }
    }
  });
  rope_backward(s.rope, dkr.data(), pos, T, 1, dr, 0);
  std::vector<float> dlatn(size_t(T * r), 0.0f), dlat(size_t(T * r), 0.0f);
  linear_backward(dlatn.data(), g.kv_b_proj, nullptr, dkvb.data(), a.latn.data(), w.kv_b_proj, T, r,
                  H * (dn + dv));
  rmsnorm_backward(dlat.data(), g.kv_a_norm, dlatn.data(), a.lat.data(), w.kv_a_norm, a.rstd_kv.data(), T, r);
  parallel_for(T, row_grain(r + dr), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      std::copy_n(dlat.data() + t * r, r, dkva.data() + t * (r + dr));
      std::copy_n(dkr.data() + t * dr, dr, dkva.data() + t * (r + dr) + r);
    }
  });
  const GemmB xp(false, T, s.C, x, s.C);  // x converted once for kv_a's and q's weight gradients
  linear_backward(dx, g.kv_a_proj, nullptr, dkva.data(), xp, w.kv_a_proj, T, s.C, r + dr);

  rope_backward(s.rope, dq.data(), pos, T, H, dk, dn);
  if (s.q_lora_rank > 0) {
    const int64_t qr = s.q_lora_rank;
    std::vector<float> dcqn(size_t(T * qr), 0.0f), dcq(size_t(T * qr), 0.0f);
    linear_backward(dcqn.data(), g.q_b_proj, nullptr, dq.data(), a.cqn.data(), w.q_b_proj, T, qr, QD);
    rmsnorm_backward(dcq.data(), g.q_a_norm, dcqn.data(), a.cq.data(), w.q_a_norm, a.rstd_q.data(), T, qr);
    linear_backward(dx, g.q_a_proj, nullptr, dcq.data(), xp, w.q_a_proj, T, s.C, qr);
  } else {
    linear_backward(dx, g.q_proj, nullptr, dq.data(), xp, w.q_proj, T, s.C, QD);
  }
}

}  // namespace sputnik::train
