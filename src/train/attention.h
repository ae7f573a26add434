#pragma once
// Causal scaled-dot-product attention over heads, the core shared by GQA (Qwen2) and MLA
// (DeepSeek, run here in its expanded form: per-head keys [k_nope | shared k_rope]).
//   q [B, S, Hq, Dk], k [B, S, Hkv, Dk], v [B, S, Hkv, Dv] -> out [B, S, Hq, Dv]
// Query head h reads kv head h / (Hq / Hkv), as HF's repeat_kv does. Position i attends to j <= i.
#include <cstdint>

namespace sputnik::train {

struct AttentionShape {
  int64_t B = 1, S = 1, Hq = 1, Hkv = 1, Dk = 1, Dv = 1;
  float scale = 1.0f;  // softmax scale (1/sqrt(Dk) times YaRN's mscale² where used)
  int64_t probs_size() const { return B * Hq * S * S; }
};

// probs [B, Hq, S, S] keeps the softmax for the backward (zeros above the diagonal).
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const AttentionShape& s);
// Adds into dq, dk, dv (same layouts as q, k, v).
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, const AttentionShape& s);

}  // namespace sputnik::train
