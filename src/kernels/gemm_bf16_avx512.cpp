// AVX-512 BF16 GEMM: packers into the word layouts of gemm_bf16.h and an outer-product kernel.
// Each step of K (a pair of bf16 values) loads one 32-column row of a B panel (two zmm) and
// broadcasts one word of A per row of the tile; vdpbf16ps adds both products of the pair into
// f32 accumulators that map one-to-one onto C, so a tile ends with a store, not a reduction.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/gemm_bf16.h"
#include "kernels/transpose_avx512.h"

namespace sputnik::bf {
namespace {

// The first n of 16 lanes (n may be <= 0 or > 16).
inline __mmask16 first(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }

// f32 -> bf16 bits in the upper half of each 32-bit lane (the lower half is left over): round to
// nearest even with NaNs kept quiet, the bits of f32_to_bf16 (vcvtneps2bf16 would flush
// denormals, and the tests compare against f32_to_bf16).
inline __m512i round_hi(__m512 x) {
  const __m512i xi = _mm512_castps_si512(x);
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(xi, 16), _mm512_set1_epi32(1));
  const __m512i r = _mm512_add_epi32(xi, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
  const __mmask16 nan =
      _mm512_cmpgt_epu32_mask(_mm512_and_si512(xi, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(xi, _mm512_set1_epi32(0x00400000)));
}

// `count` consecutive floats from x (at most 32 read; the rest zero) -> 16 words, pairs in order.
inline __m512i words32(const float* x, int64_t count) {
  const __m512i lo = round_hi(_mm512_maskz_loadu_ps(first(count), x));
  const __m512i hi = round_hi(_mm512_maskz_loadu_ps(first(count - 16), x + 16));
  // The upper (odd) 16-bit halves of lo's then hi's lanes.
  const __m512i odd = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33, 31, 29, 27, 25,
                                       23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  return _mm512_permutex2var_epi16(lo, odd, hi);
}

// Two rows of 16 floats -> 16 words: (r0[j], r1[j]).
inline __m512i pair16(__m512 r0, __m512 r1) {
  return _mm512_mask_blend_epi16(0xAAAAAAAA, _mm512_srli_epi32(round_hi(r0), 16), round_hi(r1));
}


// One tile of up to kMr rows × 32 columns of C (masks m0, m1 select the columns present).
// kStrips: A is a strip ([pairs][kMr] words), else rows of `stride` words.
template <int R, bool kStrips>
void tile(const uint32_t* a, int64_t stride, const uint32_t* b, int64_t pairs, float* c, int64_t ldc, __mmask16 m0,
          __mmask16 m1, float alpha, float beta) {
  __m512 acc0[R], acc1[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    acc0[r] = _mm512_setzero_ps();
    acc1[r] = _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < pairs; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + p * kNr);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + p * kNr + 16);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const uint32_t w = kStrips ? a[p * kMr + r] : a[r * stride + p];
      const __m512bh av = (__m512bh)_mm512_set1_epi32(int(w));
      acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
    }
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    float* cr = c + r * ldc;
    __m512 v0 = _mm512_mul_ps(va, acc0[r]), v1 = _mm512_mul_ps(va, acc1[r]);
    if (beta != 0.0f) {
      v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);
      v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

using TileFn = void (*)(const uint32_t*, int64_t, const uint32_t*, int64_t, float*, int64_t, __mmask16, __mmask16,
                        float, float);

template <bool kStrips>
TileFn pick(int64_t rows) {
  static_assert(kMr == 8);
  switch (rows) {
    case 1: return tile<1, kStrips>;
    case 2: return tile<2, kStrips>;
    case 3: return tile<3, kStrips>;
    case 4: return tile<4, kStrips>;
    case 5: return tile<5, kStrips>;
    case 6: return tile<6, kStrips>;
    case 7: return tile<7, kStrips>;
    default: return tile<8, kStrips>;
  }
}

}  // namespace

void pack_b_panels_avx512(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, int64_t q0, int64_t q1,
                          uint32_t* out) {
  const int64_t pairs = (k + 1) / 2;
  if (!trans_b) {
    // B [k, n]: rows 2p and 2p+1 interleaved; reads go along B's rows.
    for (int64_t p = 0; p < pairs; ++p) {
      const float* r0 = b + 2 * p * ldb;
      const float* r1 = 2 * p + 1 < k ? r0 + ldb : nullptr;
      for (int64_t q = q0; q < q1; ++q) {
        for (int64_t h = 0; h < kNr; h += 16) {
          const int64_t j = q * kNr + h;
          const __mmask16 m = first(n - j);
          const __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1 + j) : _mm512_setzero_ps();
          _mm512_storeu_si512(out + (q * pairs + p) * kNr + h, pair16(_mm512_maskz_loadu_ps(m, r0 + j), x1));
        }
      }
    }
    return;
  }
  // op(B) = Xᵀ, X [n, k]: each row of X is already a sequence of words; 16×16 word transposes
  // turn 16 rows of X into 16 rows of the panel.
  for (int64_t q = q0; q < q1; ++q) {
    for (int64_t p0 = 0; p0 < pairs; p0 += 16) {
      for (int64_t h = 0; h < kNr; h += 16) {
        __m512i w[16];
        for (int64_t jj = 0; jj < 16; ++jj) {
          const int64_t j = q * kNr + h + jj;
          w[jj] = j < n ? words32(b + j * ldb + 2 * p0, k - 2 * p0) : _mm512_setzero_si512();
        }
        transpose16x16(w);
        for (int64_t t = 0; t < 16 && p0 + t < pairs; ++t)
          _mm512_storeu_si512(out + (q * pairs + p0 + t) * kNr + h, w[t]);
      }
    }
  }
}

void pack_a_rows_avx512(int64_t k, const float* a, int64_t lda, int64_t i0, int64_t i1, int64_t stride,
                        uint32_t* out) {
  for (int64_t i = i0; i < i1; ++i)
    for (int64_t p0 = 0; p0 < stride; p0 += 16)
      _mm512_storeu_si512(out + i * stride + p0, words32(a + i * lda + 2 * p0, k - 2 * p0));
}

void pack_a_strips_avx512(int64_t m, int64_t k, const float* x, int64_t ldx, int64_t s0, int64_t s1,
                          uint32_t* out) {
  const int64_t pairs = (k + 1) / 2;
  static_assert(kMr == 8);  // 16 columns of X = two strips
  for (int64_t p = 0; p < pairs; ++p) {
    const float* r0 = x + 2 * p * ldx;
    const float* r1 = 2 * p + 1 < k ? r0 + ldx : nullptr;
    for (int64_t s = s0; s < s1; s += 2) {
      const int64_t i = s * kMr;
      const __mmask16 present = first(m - i);
      const __m512 x1 = r1 ? _mm512_maskz_loadu_ps(present, r1 + i) : _mm512_setzero_ps();
      const __m512i v = pair16(_mm512_maskz_loadu_ps(present, r0 + i), x1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (s * pairs + p) * kMr), _mm512_castsi512_si256(v));
      if (s + 1 < s1)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + ((s + 1) * pairs + p) * kMr),
                            _mm512_extracti64x4_epi64(v, 1));
    }
  }
}

void gemm_tiles_avx512(bool strips, const uint32_t* a, int64_t stride, const uint32_t* b, int64_t b_pairs, int64_t k,
                       int64_t n, int64_t i0, int64_t i1, int64_t q0, int64_t q1, float alpha, float beta, float* c,
                       int64_t ldc) {
  const int64_t pairs = (k + 1) / 2;
  // Panels per block: the block stays in L2 while every row strip of A passes over it.
  const int64_t block = std::max<int64_t>(1, (384 * 1024) / std::max<int64_t>(1, pairs * kNr * 4));
  for (int64_t qb = q0; qb < q1; qb += block) {
    const int64_t qe = std::min(q1, qb + block);
    for (int64_t i = i0; i < i1; i += kMr) {
      const int64_t rows = std::min(kMr, i1 - i);
      const TileFn fn = strips ? pick<true>(rows) : pick<false>(rows);
      const uint32_t* ai = strips ? a + (i / kMr) * pairs * kMr : a + i * stride;
      for (int64_t q = qb; q < qe; ++q) {
        const int64_t j = q * kNr;
        fn(ai, stride, b + q * b_pairs * kNr, pairs, c + i * ldc + j, ldc, first(n - j), first(n - j - 16), alpha, beta);
      }
    }
  }
}

}  // namespace sputnik::bf
