// 16×16 f32 tile transpose in AVX-512 registers (for the bf16 GEMM operands, precision.cpp).
#include <immintrin.h>

#include <cstdint>

namespace sputnik::train::detail {

// dst[c][r] = src[r][c] for a full 16×16 tile; src row stride lds, dst row stride ldd.
void transpose16_avx512(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * lds);
  // Interleave pairs of rows (32-bit), then pairs of pairs (64-bit): each 128-bit lane then holds
  // a 4×4 sub-block; two rounds of 128-bit lane shuffles put the sub-blocks in place.
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
  }
  // r[4g + j] lane L holds column (4L + j) restricted to rows 4g..4g+3.
  for (int j = 0; j < 4; ++j) {
    // Gather lane L of r[j], r[4+j], r[8+j], r[12+j] for L = 0..3 into four outputs.
    const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x44);      // lanes 0,1 of r[j] | lanes 0,1 of r[4+j]
    const __m512 b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xEE);      // lanes 2,3 | lanes 2,3
    const __m512 c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x44);
    const __m512 d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xEE);
    // Column 4L + j = [r[j].L, r[4+j].L, r[8+j].L, r[12+j].L]
    _mm512_storeu_ps(dst + (0 + j) * ldd, _mm512_shuffle_f32x4(a, c, 0x88));   // L = 0
    _mm512_storeu_ps(dst + (4 + j) * ldd, _mm512_shuffle_f32x4(a, c, 0xDD));   // L = 1
    _mm512_storeu_ps(dst + (8 + j) * ldd, _mm512_shuffle_f32x4(b, d, 0x88));   // L = 2
    _mm512_storeu_ps(dst + (12 + j) * ldd, _mm512_shuffle_f32x4(b, d, 0xDD));  // L = 3
  }
}

}  // namespace sputnik::train::detail
