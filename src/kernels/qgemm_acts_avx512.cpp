// AVX-512 activation quantization (the per-call cost of every integer matmul, n rows × k):
// the same arithmetic as quantize_act_row_scalar, so the same bytes.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/qgemm.h"

namespace sputnik::qg {

namespace {

// Lane i of the result: the maximum (mx) or the sum of the 16 lanes of v[i], for 16 vectors at
// once (a transposing tree: 15 shuffle pairs instead of 16 reductions of 4 steps each).
template <typename Op>
inline __m512 reduce16(const __m512* v, Op op) {
  __m512 w[8], z[4];
  for (int i = 0; i < 8; ++i)
    w[i] = op(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i)
    z[i] = op(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], 0x44), _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], 0xEE));
  const __m512 u0 = op(_mm512_shuffle_f32x4(z[0], z[1], 0x44), _mm512_shuffle_f32x4(z[0], z[1], 0xEE));
  const __m512 u1 = op(_mm512_shuffle_f32x4(z[2], z[3], 0x44), _mm512_shuffle_f32x4(z[2], z[3], 0xEE));
  return op(_mm512_shuffle_f32x4(u0, u1, 0x88), _mm512_shuffle_f32x4(u0, u1, 0xDD));
}

// One block of 32 values: its scale d = amax/127, and q = round(x/d) with the Σq of each 16.
inline void one_block(const float* x, int8_t* q, float* d, int32_t* sums16) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, x0), _mm512_andnot_ps(sign, x1)));
  *d = amax / 127.0f;
  const __m512 id = _mm512_set1_ps(*d != 0.0f ? 1.0f / *d : 0.0f);
  const __m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(x0, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(x1, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(q0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 16), _mm512_cvtepi32_epi8(q1));
  sums16[0] = _mm512_reduce_add_epi32(q0);
  sums16[1] = _mm512_reduce_add_epi32(q1);
}

}  // namespace

// 16 blocks (512 values) at a time: their maxima, scales and sums reduced together, the
// divisions done as one vector each. IEEE division and max are exact, so the bytes are those
// of one_block (and of the scalar reference). At decode this runs before every product: per
// block reductions made a 4864-wide input cost 1.4 µs, a sizeable part of the serial time
// between two products.
void quantize_act_row_avx512(const float* x, int64_t k, int8_t* q, float* d, int32_t* sums16) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const auto vmax = [](__m512 a, __m512 b) { return _mm512_max_ps(a, b); };
  const auto vadd = [](__m512 a, __m512 b) {
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  };
  const int64_t blocks = k / 32;
  int64_t b = 0;
  for (; b + 16 <= blocks; b += 16) {
    const float* xb = x + 32 * b;
    __m512 m[16];
    for (int j = 0; j < 16; ++j)
      m[j] = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(xb + 32 * j)),
                           _mm512_andnot_ps(sign, _mm512_loadu_ps(xb + 32 * j + 16)));
    const __m512 dv = _mm512_div_ps(reduce16(m, vmax), _mm512_set1_ps(127.0f));
    _mm512_storeu_ps(d + b, dv);
    const __mmask16 nonzero = _mm512_cmp_ps_mask(dv, _mm512_setzero_ps(), _CMP_NEQ_OQ);
    alignas(64) float inv[16];
    _mm512_store_ps(inv, _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(1.0f), dv));
    __m512 lo[16], hi[16];
    for (int j = 0; j < 16; ++j) {
      const __m512 id = _mm512_set1_ps(inv[j]);
      const __m512i q0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 32 * j), id),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i q1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 32 * j + 16), id),
                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * (b + j)), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * (b + j) + 16), _mm512_cvtepi32_epi8(q1));
      lo[j] = _mm512_castsi512_ps(q0);
      hi[j] = _mm512_castsi512_ps(q1);
    }
    // Σq of each half block, interleaved: sums16[2j] the low 16 values of block j, [2j+1] the high.
    const __m512i slo = _mm512_castps_si512(reduce16(lo, vadd)), shi = _mm512_castps_si512(reduce16(hi, vadd));
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i second = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_storeu_si512(sums16 + 2 * b, _mm512_permutex2var_epi32(slo, first, shi));
    _mm512_storeu_si512(sums16 + 2 * b + 16, _mm512_permutex2var_epi32(slo, second, shi));
  }
  for (; b < blocks; ++b) one_block(x + 32 * b, q + 32 * b, d + b, sums16 + 2 * b);
}

}  // namespace sputnik::qg
