#include "kernels/activation_loops.h"

namespace sputnik::act {

void swiglu_avx512(const float* gate, const float* up, int64_t n, float* out) { swiglu_loop(gate, up, n, out); }
void exp_shifted_avx512(float* x, int64_t n, float mx) { exp_shifted_loop(x, n, mx); }

}  // namespace sputnik::act
