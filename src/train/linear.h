#pragma once
// Linear layer in the stored-weight layout of HF checkpoints: out[T, OC] = x[T, C]·w[OC, C]^T + b.
#include <cstdint>

namespace sputnik::train {

// b may be null (no bias).
void linear_forward(float* out, const float* x, const float* w, const float* b, int64_t T, int64_t C,
                    int64_t OC);
// Adds into dx [T, C], dw [OC, C], db [OC]; any of them may be null to skip it.
void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     int64_t T, int64_t C, int64_t OC);

}  // namespace sputnik::train
