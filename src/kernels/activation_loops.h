#pragma once
// Internal: the elementwise loops of activation.cpp, written once and compiled twice (plain and
// in activation_avx512.cpp with AVX-512 flags, picked at run time). fast_exp instead of libm's
// expf lets the compiler vectorize them: at prefill SwiGLU alone evaluates n·ffn exps per layer.
#include <cmath>
#include <cstdint>

#include "kernels/fast_exp.h"

namespace sputnik::act {

[[gnu::always_inline]] inline void swiglu_loop(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.0f + fast_exp(-gate[i])) * up[i];
}

// x[i] = exp(x[i] − mx); returns the sum (in float lanes, then added up in double by the caller).
[[gnu::always_inline]] inline void exp_shifted_loop(float* x, int64_t n, float mx) {
  for (int64_t i = 0; i < n; ++i) x[i] = fast_exp(x[i] - mx);
}

void swiglu_avx512(const float* gate, const float* up, int64_t n, float* out);
void softmax_avx512(float* x, int64_t n);

}  // namespace sputnik::act
