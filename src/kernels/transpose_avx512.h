#pragma once
// Internal, for *_avx512.cpp files only (their compile flags enable AVX-512): a 16 × 16
// transpose of 32-bit values in registers, shared by the bf16 GEMM's packing and the
// unpacking of decode tiles for the prefill GEMM.
#include <immintrin.h>

namespace sputnik {

// In place: r[j] becomes column j of the 16×16 matrix of 32-bit values whose rows were r[0..15].
inline void transpose16x16(__m512i (&r)[16]) {
  __m512i t[16];
  // Within each 128-bit lane: pairs of rows interleaved (32-bit), then pairs of pairs (64-bit),
  // after which r[4g + j] lane L holds column 4L + j restricted to rows 4g..4g+3.
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
  }
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
  }
  for (int j = 0; j < 4; ++j) {
    const __m512i a = _mm512_shuffle_i32x4(r[j], r[4 + j], 0x44);  // lanes 0,1 of each
    const __m512i b = _mm512_shuffle_i32x4(r[j], r[4 + j], 0xEE);  // lanes 2,3 of each
    const __m512i c = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0x44);
    const __m512i d = _mm512_shuffle_i32x4(r[8 + j], r[12 + j], 0xEE);
    t[j] = _mm512_shuffle_i32x4(a, c, 0x88);
    t[4 + j] = _mm512_shuffle_i32x4(a, c, 0xDD);
    t[8 + j] = _mm512_shuffle_i32x4(b, d, 0x88);
    t[12 + j] = _mm512_shuffle_i32x4(b, d, 0xDD);
  }
  for (int i = 0; i < 16; ++i) r[i] = t[i];
}

}  // namespace sputnik
