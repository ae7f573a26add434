// Decode kernels over Tiles16 weights (kernels/tiles.h): 16 rows per vector, 4 activation bytes
// broadcast per vpdpbusd, one scaling per block for all 16 rows. As in qgemv_avx512.cpp the
// unsigned weight bytes are offset (Q8_0: q + 128, Q4_0: q = value + 8), so each block's int32
// sums start at −offset·Σx (Acts::group_neg).
#pragma GCC diagnostic ignored "-Wuninitialized"  // _mm512_setzero_* in GCC 12 headers
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/qgemm.h"

namespace sputnik::qg {
namespace {

template <bool kQ8, int T>
void tiles(const uint8_t* base, size_t tile_bytes, int64_t t0, int64_t t1, int64_t nb, const Acts& a, float* y,
           int64_t ldy) {
  constexpr int64_t kBlock = kQ8 ? 544 : 288;
  constexpr int kShift = kQ8 ? 7 : 3;
  const __m512i low = _mm512_set1_epi8(0x0F);
  for (int64_t t = t0; t < t1; ++t) {
    const uint8_t* p = base + size_t(t) * tile_bytes;
    __m512 acc[T];
    for (int j = 0; j < T; ++j) acc[j] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, p += kBlock) {
      const __m512 ws = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
      for (int j = 0; j < T; ++j) {
        const int32_t* x = reinterpret_cast<const int32_t*>(a.q.data() + j * a.kp + 32 * b);
        const int32_t* gn = a.group_neg.data() + j * a.kp / 16 + 2 * b;
        // Two independent chains of vpdpbusd, joined per block.
        __m512i s = _mm512_set1_epi32((gn[0] + gn[1]) * (1 << kShift)), u = _mm512_setzero_si512();
        if constexpr (kQ8) {
          for (int c = 0; c < 8; c += 2) {
            s = _mm512_dpbusd_epi32(s, _mm512_loadu_si512(p + 32 + 64 * c), _mm512_set1_epi32(x[c]));
            u = _mm512_dpbusd_epi32(u, _mm512_loadu_si512(p + 96 + 64 * c), _mm512_set1_epi32(x[c + 1]));
          }
        } else {
          for (int c = 0; c < 4; ++c) {
            const __m512i v = _mm512_loadu_si512(p + 32 + 64 * c);
            s = _mm512_dpbusd_epi32(s, _mm512_and_si512(v, low), _mm512_set1_epi32(x[c]));
            u = _mm512_dpbusd_epi32(u, _mm512_and_si512(_mm512_srli_epi16(v, 4), low), _mm512_set1_epi32(x[4 + c]));
          }
        }
        const __m512 scale = _mm512_mul_ps(ws, _mm512_set1_ps(a.block_scale[size_t(j * a.kb + b)]));
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s, u)), scale, acc[j]);
      }
    }
    for (int j = 0; j < T; ++j) _mm512_storeu_ps(y + j * ldy + 16 * t, acc[j]);
  }
}

template <bool kQ8>
void tiles_n(const uint8_t* base, size_t tile_bytes, int64_t t0, int64_t t1, int64_t nb, const Acts& a, float* y,
             int64_t ldy) {
  switch (a.n) {
    case 1: tiles<kQ8, 1>(base, tile_bytes, t0, t1, nb, a, y, ldy); break;
    case 2: tiles<kQ8, 2>(base, tile_bytes, t0, t1, nb, a, y, ldy); break;
    case 3: tiles<kQ8, 3>(base, tile_bytes, t0, t1, nb, a, y, ldy); break;
    default: tiles<kQ8, 4>(base, tile_bytes, t0, t1, nb, a, y, ldy); break;
  }
}

}  // namespace

void gemv_tiles_avx512(const TensorView& w, int64_t t0, int64_t t1, const Acts& a, float* y, int64_t ldy) {
  const auto* base = reinterpret_cast<const uint8_t*>(w.data);
  // Row bytes from the block sizes (34, 18) rather than dtype_bytes(), which divides: this runs
  // once per chunk, thousands of times a token.
  const int64_t nb = w.cols() / 32;
  if (w.dtype == DType::Q8_0) tiles_n<true>(base, size_t(16 * 34 * nb), t0, t1, nb, a, y, ldy);
  else tiles_n<false>(base, size_t(16 * 18 * nb), t0, t1, nb, a, y, ldy);
}

}  // namespace sputnik::qg
