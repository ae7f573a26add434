#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/activation_loops.h"

namespace sputnik::act {

void swiglu_avx512(const float* gate, const float* up, int64_t n, float* out) { swiglu_loop(gate, up, n, out); }
void softmax_avx512(float* x, int64_t n) {
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) vmax = _mm512_max_ps(vmax, _mm512_loadu_ps(x + i));
  float mx = _mm512_reduce_max_ps(vmax);
  for (; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  exp_shifted_loop(x, n, mx);
  // Sixteen float partial sums (each ≤ n/16 terms in [0, 1]), added in a fixed order.
  __m512 vsum = _mm512_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) vsum = _mm512_add_ps(vsum, _mm512_loadu_ps(x + i));
  double sum = _mm512_reduce_add_ps(vsum);
  for (; i < n; ++i) sum += x[i];
  const __m512 inv = _mm512_set1_ps(float(1.0 / sum));
  for (i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  for (; i < n; ++i) x[i] *= float(1.0 / sum);
}

}  // namespace sputnik::act
