#pragma once
// Linear layer in the stored-weight layout of HF checkpoints: out[T, OC] = x[T, C]·w[OC, C]^T + b.
#include <cstdint>

#include "train/precision.h"

namespace sputnik::train {

// b may be null (no bias).
void linear_forward(float* out, const float* x, const float* w, const float* b, int64_t T, int64_t C,
                    int64_t OC);
// Adds into dx [T, C], dw [OC, C], db [OC]; any of them may be null to skip it.
void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     int64_t T, int64_t C, int64_t OC);
// The same with the input given as x_packed = GemmB(false, T, C, x, C): layers that read one
// input (q/k/v, gate/up) convert it for their weight gradients once (same numbers).
void linear_backward(float* dx, float* dw, float* db, const float* dout, const GemmB& x_packed, const float* w,
                     int64_t T, int64_t C, int64_t OC);

}  // namespace sputnik::train
