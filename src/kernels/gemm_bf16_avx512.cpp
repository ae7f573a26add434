// AVX-512 BF16 GEMM kernel: vdpbf16ps over 4×4 tiles of C (32 K-values per instruction per
// tile element), B in column blocks sized for L2 so each block serves every row of A.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm_bf16.h"

namespace sputnik::bf {
namespace {

// Lane k of the result = sum of v[k]; the lane order of each sum does not depend on k.
inline __m512 reduce16(const __m512 (&v)[16]) {
  __m512 a[8], b[4], c[2];
  for (int q = 0; q < 8; ++q)
    a[q] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * q], v[2 * q + 1]), _mm512_unpackhi_ps(v[2 * q], v[2 * q + 1]));
  for (int q = 0; q < 4; ++q)
    b[q] = _mm512_add_ps(_mm512_shuffle_ps(a[2 * q], a[2 * q + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(a[2 * q], a[2 * q + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int q = 0; q < 2; ++q)
    c[q] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * q], b[2 * q + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(b[2 * q], b[2 * q + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

template <int R, int C>
void tile(int64_t i, int64_t j, int64_t kp, const uint16_t* a, const uint16_t* b, float alpha, float beta,
          float* c, int64_t ldc) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < C; ++q) acc[r][q] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; p += 32) {
    __m512bh bv[C];
    for (int q = 0; q < C; ++q) bv[q] = (__m512bh)_mm512_loadu_si512(b + (j + q) * kp + p);
    for (int r = 0; r < R; ++r) {
      const __m512bh av = (__m512bh)_mm512_loadu_si512(a + (i + r) * kp + p);
      for (int q = 0; q < C; ++q) acc[r][q] = _mm512_dpbf16_ps(acc[r][q], av, bv[q]);
    }
  }
  __m512 v[16];
  for (int s = 0; s < 16; ++s) v[s] = _mm512_setzero_ps();
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < C; ++q) v[r * 4 + q] = acc[r][q];
  alignas(64) float sums[16];
  _mm512_store_ps(sums, reduce16(v));
  for (int r = 0; r < R; ++r)
    for (int q = 0; q < C; ++q) {
      float& out = c[(i + r) * ldc + j + q];
      out = beta == 0.0f ? alpha * sums[r * 4 + q] : alpha * sums[r * 4 + q] + beta * out;
    }
}

using TileFn = void (*)(int64_t, int64_t, int64_t, const uint16_t*, const uint16_t*, float, float, float*, int64_t);

template <int R>
TileFn pick_c(int64_t cols) {
  switch (cols) {
    case 1: return tile<R, 1>;
    case 2: return tile<R, 2>;
    case 3: return tile<R, 3>;
    default: return tile<R, 4>;
  }
}

TileFn pick(int64_t rows, int64_t cols) {
  switch (rows) {
    case 1: return pick_c<1>(cols);
    case 2: return pick_c<2>(cols);
    case 3: return pick_c<3>(cols);
    default: return pick_c<4>(cols);
  }
}

}  // namespace

void gemm_rows_avx512(int64_t i0, int64_t i1, int64_t n, int64_t kp, const uint16_t* a, const uint16_t* b,
                      float alpha, float beta, float* c, int64_t ldc) {
  const int64_t block = std::max<int64_t>(4, (256 * 1024 / (2 * kp)) / 4 * 4);
  for (int64_t j0 = 0; j0 < n; j0 += block) {
    const int64_t j1 = std::min(n, j0 + block);
    for (int64_t i = i0; i < i1; i += 4) {
      const int64_t rows = std::min<int64_t>(4, i1 - i);
      for (int64_t j = j0; j < j1; j += 4) pick(rows, std::min<int64_t>(4, j1 - j))(i, j, kp, a, b, alpha, beta, c, ldc);
    }
  }
}

}  // namespace sputnik::bf
