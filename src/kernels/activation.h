#pragma once
// Small elementwise f32 ops of the transformer blocks.
#include <cstdint>

namespace sputnik {

inline float silu(float x) { return x / (1.0f + __builtin_expf(-x)); }
inline float sigmoid(float x) { return 1.0f / (1.0f + __builtin_expf(-x)); }

// SwiGLU (through fast_exp, within a few ulp of silu() above; split over the threads when large)
// over rows laid out [gate | up] (2*dim per row): out[r, i] = silu(gate) * up.
void swiglu(const float* gate_up, int64_t rows, int64_t dim, float* out);
// out = silu(gate) * up, elementwise over n values.
void swiglu(const float* gate, const float* up, int64_t n, float* out);
// Numerically stable softmax in place.
void softmax(float* x, int64_t n);

}  // namespace sputnik
