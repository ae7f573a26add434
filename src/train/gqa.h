#pragma once
// Qwen2 self-attention: q/k/v projections with biases, rotate_half RoPE, causal GQA, o_proj.
//   x [B·S, C] (already normed) -> out [B·S, C];  HF weights q_proj [Hq·D, C], k_proj/v_proj
//   [Hkv·D, C], o_proj [C, Hq·D].
#include <cstdint>
#include <vector>

#include "train/rope.h"

namespace sputnik::train {

struct GqaSpec {
  int64_t C = 0, Hq = 1, Hkv = 1, D = 0;
  RopeTable rope;      // rot_dim = D, rotate_half
  float scale = 0.0f;  // softmax scale; 0 means 1/sqrt(D)
};
struct GqaWeights {
  const float *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  const float *bq = nullptr, *bk = nullptr, *bv = nullptr;  // null when absent
};
struct GqaGrads {
  float *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  float *bq = nullptr, *bk = nullptr, *bv = nullptr;
};
struct GqaActs {
  std::vector<float> q, k, v, probs, att;  // q, k after rope; att = attention output [T, Hq·D]
};

// pos [B·S]: each token's position (usually s within its sequence).
void gqa_forward(const GqaSpec& spec, const GqaWeights& w, const float* x, const int32_t* pos, int64_t B,
                 int64_t S, float* out, GqaActs& acts);
// Adds into dx and the gradients.
void gqa_backward(const GqaSpec& spec, const GqaWeights& w, const GqaGrads& g, const float* x,
                  const int32_t* pos, int64_t B, int64_t S, const float* dout, const GqaActs& acts, float* dx);

}  // namespace sputnik::train
