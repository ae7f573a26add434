#pragma once
// DeepSeek multi-head latent attention, trained in its expanded form:
//   q      = q_b_proj(q_a_layernorm(q_a_proj(x)))   or q_proj(x) without q_lora   [T, H, dn+dr]
//   [c|kr] = kv_a_proj_with_mqa(x)                 c: latent [T, r], kr: rope key [T, dr]
//   kvb    = kv_b_proj(kv_a_layernorm(c))           per head [k_nope (dn) | v (dv)]
//   k_h    = [k_nope_h | rope(kr)]  (one rope key shared by every head), v_h
//   out    = o_proj(attention(rope(q), k, v))      rope on each q head's last dr dims
// RoPE is interleaved (HF DeepSeek layout); softmax scale (dn+dr)^-0.5·mscale² comes from the
// caller (see rope.h yarn_mscale).
#include <cstdint>
#include <vector>

#include "train/rope.h"

namespace sputnik::train {

struct MlaSpec {
  int64_t C = 0, H = 1;
  int64_t q_lora_rank = 0;  // 0: plain q_proj
  int64_t kv_lora_rank = 0, qk_nope = 0, qk_rope = 0, v_head = 0;
  float eps = 1e-6f;  // rms_norm_eps of the two latent norms
  RopeTable rope;     // rot_dim = qk_rope, interleaved
  float scale = 0.0f; // softmax scale; 0 means (qk_nope + qk_rope)^-0.5
};
struct MlaWeights {
  const float* q_proj = nullptr;                                    // [H·(dn+dr), C]
  const float *q_a_proj = nullptr, *q_a_norm = nullptr, *q_b_proj = nullptr;  // [qr, C], [qr], [H·(dn+dr), qr]
  const float *kv_a_proj = nullptr, *kv_a_norm = nullptr, *kv_b_proj = nullptr;  // [r+dr, C], [r], [H·(dn+dv), r]
  const float* o_proj = nullptr;                                    // [C, H·dv]
};
struct MlaGrads {
  float* q_proj = nullptr;
  float *q_a_proj = nullptr, *q_a_norm = nullptr, *q_b_proj = nullptr;
  float *kv_a_proj = nullptr, *kv_a_norm = nullptr, *kv_b_proj = nullptr;
  float* o_proj = nullptr;
};
struct MlaActs {
  std::vector<float> cq, cqn, rstd_q;      // q_lora path
  std::vector<float> q, lat, latn, rstd_kv, k, v, probs, att;
};

void mla_forward(const MlaSpec& spec, const MlaWeights& w, const float* x, const int32_t* pos, int64_t B,
                 int64_t S, float* out, MlaActs& acts);
// Adds into dx and the gradients.
void mla_backward(const MlaSpec& spec, const MlaWeights& w, const MlaGrads& g, const float* x,
                  const int32_t* pos, int64_t B, int64_t S, const float* dout, const MlaActs& acts, float* dx);

}  // namespace sputnik::train
