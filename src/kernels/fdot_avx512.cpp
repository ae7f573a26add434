// AVX-512 float-weight row dots: 16 weights per step, converted from f16 (F16C) or bf16
// (shift) in registers; up to 4 activation rows share each loaded weight vector.
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/fdot.h"

namespace sputnik::fd {
namespace {

template <DType D>
inline __m512 load_w(const void* w, int64_t j, __mmask16 m) {
  if constexpr (D == DType::F32) {
    return _mm512_maskz_loadu_ps(m, static_cast<const float*>(w) + j);
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w) + j);
    if constexpr (D == DType::F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

// T activation rows, U independent accumulators each (to hide FMA latency when T is small).
template <DType D, int T, int U>
void dot(const void* w, int64_t k, const float* x, float* y, int64_t ldy) {
  __m512 acc[T][U];
  for (int t = 0; t < T; ++t)
    for (int u = 0; u < U; ++u) acc[t][u] = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 * U <= k; j += 16 * U) {
    for (int u = 0; u < U; ++u) {
      const __m512 wv = load_w<D>(w, j + 16 * u, 0xffff);
      for (int t = 0; t < T; ++t)
        acc[t][u] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + t * k + j + 16 * u), acc[t][u]);
    }
  }
  for (; j < k; j += 16) {
    const __mmask16 m = k - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (k - j)) - 1);
    const __m512 wv = load_w<D>(w, j, m);
    for (int t = 0; t < T; ++t)
      acc[t][0] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + t * k + j), acc[t][0]);
  }
  for (int t = 0; t < T; ++t) {
    __m512 s = acc[t][0];
    for (int u = 1; u < U; ++u) s = _mm512_add_ps(s, acc[t][u]);
    y[t * ldy] = _mm512_reduce_add_ps(s);
  }
}

template <DType D>
void rows(const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy) {
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) dot<D, 4, 1>(w, k, x + t * k, y + t * ldy, ldy);
  for (; t < n; ++t) dot<D, 1, 4>(w, k, x + t * k, y + t * ldy, ldy);
}

}  // namespace

void row_dot_avx512(DType dt, const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy) {
  if (dt == DType::F32) rows<DType::F32>(w, k, x, n, y, ldy);
  else if (dt == DType::F16) rows<DType::F16>(w, k, x, n, y, ldy);
  else rows<DType::BF16>(w, k, x, n, y, ldy);
}

}  // namespace sputnik::fd
