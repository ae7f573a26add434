// AVX2/F16C float-weight row dots (8 weights per step), scalar tail.
#include <immintrin.h>

#include "kernels/fdot.h"

namespace sputnik::fd {
namespace {

template <DType D>
inline __m256 load_w(const void* w, int64_t j) {
  if constexpr (D == DType::F32) {
    return _mm256_loadu_ps(static_cast<const float*>(w) + j);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + j));
    if constexpr (D == DType::F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

template <DType D>
inline float scalar_w(const void* w, int64_t j) {
  if constexpr (D == DType::F32) return static_cast<const float*>(w)[j];
  else if constexpr (D == DType::F16) return f16_to_f32(static_cast<const uint16_t*>(w)[j]);
  else return bf16_to_f32(static_cast<const uint16_t*>(w)[j]);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <DType D, int T, int U>
void dot(const void* w, int64_t k, const float* x, float* y, int64_t ldy) {
  __m256 acc[T][U];
  for (int t = 0; t < T; ++t)
    for (int u = 0; u < U; ++u) acc[t][u] = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 * U <= k; j += 8 * U) {
    for (int u = 0; u < U; ++u) {
      const __m256 wv = load_w<D>(w, j + 8 * u);
      for (int t = 0; t < T; ++t)
        acc[t][u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + t * k + j + 8 * u), acc[t][u]);
    }
  }
  for (int t = 0; t < T; ++t) {
    __m256 s = acc[t][0];
    for (int u = 1; u < U; ++u) s = _mm256_add_ps(s, acc[t][u]);
    float r = hsum(s);
    for (int64_t i = j; i < k; ++i) r += scalar_w<D>(w, i) * x[t * k + i];
    y[t * ldy] = r;
  }
}

template <DType D>
void rows(const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy) {
  int64_t t = 0;
  for (; t + 4 <= n; t += 4) dot<D, 4, 1>(w, k, x + t * k, y + t * ldy, ldy);
  for (; t < n; ++t) dot<D, 1, 4>(w, k, x + t * k, y + t * ldy, ldy);
}

}  // namespace

void row_dot_avx2(DType dt, const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy) {
  if (dt == DType::F32) rows<DType::F32>(w, k, x, n, y, ldy);
  else if (dt == DType::F16) rows<DType::F16>(w, k, x, n, y, ldy);
  else rows<DType::BF16>(w, k, x, n, y, ldy);
}

}  // namespace sputnik::fd
