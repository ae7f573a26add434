#pragma once
// RMSNorm as Qwen2 and DeepSeek use it: out = x · rsqrt(mean(x²) + eps) · w, in f32.
// x, out: [T, C]; w: [C]; rstd: [T] saved for the backward.
#include <cstdint>

namespace sputnik::train {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int64_t T, int64_t C,
                     float eps);
// Adds into dx [T, C] and dw [C] (either may be null to skip).
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t T, int64_t C);

}  // namespace sputnik::train
