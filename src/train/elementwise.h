#pragma once
// Internal: AVX-512 paths of the training ops' exp-heavy loops (elementwise_avx512.cpp); the
// callers (cross_entropy.cpp, swiglu.cpp) use them when active_isa() is Avx512.
#include <cstdint>

namespace sputnik::train::detail {

// max(l) + log Σ exp(l − max(l)) over l[0, n).
float logsumexp_avx512(const float* l, int64_t n);
// out[i] = k·exp(l[i] − lse) (+ out[i] when add); out may be l.
void scaled_softmax_avx512(float* out, const float* l, int64_t n, float lse, float k, bool add);
// swiglu_forward / swiglu_backward (swiglu.h) over elements [lo, hi).
void swiglu_forward_avx512(float* h, const float* gate, const float* up, int64_t lo, int64_t hi);
void swiglu_backward_avx512(float* dgate, float* dup, const float* dh, const float* gate, const float* up, int64_t lo,
                            int64_t hi);

}  // namespace sputnik::train::detail
