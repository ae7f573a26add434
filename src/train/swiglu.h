#pragma once
// SwiGLU gating, h = silu(gate) ⊙ up, and the MLP built on it:
//   out = down( silu(x·gate^T) ⊙ (x·up^T) ),  gate/up [F, C], down [C, F] (HF names).
// The same MLP serves dense layers, routed experts and shared experts.
#include <cstdint>
#include <vector>

namespace sputnik::train {

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n);
// Adds into dgate and dup.
void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n);

struct MlpWeights {
  const float* gate = nullptr;  // [F, C]
  const float* up = nullptr;    // [F, C]
  const float* down = nullptr;  // [C, F]
  int64_t C = 0, F = 0;
};
struct MlpGrads {
  float* gate = nullptr;
  float* up = nullptr;
  float* down = nullptr;
};
// What the backward needs from the forward, sized by mlp_forward.
struct MlpActs {
  std::vector<float> g, u, h;  // [T, F] each
};

void mlp_forward(const MlpWeights& w, const float* x, int64_t T, float* out, MlpActs& acts);
// Adds into dx (may be null) and the weight gradients.
void mlp_backward(const MlpWeights& w, const MlpGrads& g, const float* x, int64_t T, const float* dout,
                  const MlpActs& acts, float* dx);

}  // namespace sputnik::train
