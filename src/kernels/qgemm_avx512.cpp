// AVX-512 VNNI kernel of the canonical integer dot (qgemm.h): vpdpbusd on u8 weights (q+128)
// × s8 activations, 64 values per instruction, over register tiles of R weight rows × T
// activation rows so each loaded vector feeds R or T products.
// GCC 12's AVX-512 headers trip -Wuninitialized on their own _mm512_undefined_* helpers.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "core/error.h"
#include "kernels/qgemm.h"

namespace sputnik::qg {
namespace {

// Horizontal sums of 16 vectors at once: lane k of the result is the sum of v[k]. Each
// vector's lanes are added in the same order whatever its slot, so a product does not depend
// on which tile (and so which thread split) computed it.
inline __m512 reduce16(const __m512 (&v)[16]) {
  __m512 a[8], b[4], c[2];
  for (int k = 0; k < 8; ++k)
    a[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]), _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
  for (int k = 0; k < 4; ++k)
    b[k] = _mm512_add_ps(_mm512_shuffle_ps(a[2 * k], a[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(a[2 * k], a[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int k = 0; k < 2; ++k)
    c[k] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * k], b[2 * k + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(b[2 * k], b[2 * k + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

template <int R, int T>
void tile(const Rows& r, int64_t i0, const Acts& a, int64_t t0, float* y, int64_t ldy) {
  static_assert(R * T <= 16);
  const int64_t kp = r.kp, chunks = kp / kChunk;
  const int8_t* wq[R];
  const float* wl[R];
  const int8_t* xq[T];
  const float* xl[T];
  const int32_t* xn[T];
  for (int i = 0; i < R; ++i) {
    wq[i] = r.q.data() + (i0 + i) * kp;
    wl[i] = r.lane_scale.data() + (i0 + i) * kp / 4;
  }
  for (int t = 0; t < T; ++t) {
    xq[t] = a.q.data() + (t0 + t) * kp;
    xl[t] = a.lane_scale.data() + (t0 + t) * kp / 4;
    xn[t] = a.neg_sum_lanes.data() + (t0 + t) * kp / 4;
  }
  SPUTNIK_CHECK(r.offset128);
  __m512 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) acc[i][t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    __m512i w[R];
    __m512 ws[R];
    for (int i = 0; i < R; ++i) {
      w[i] = _mm512_loadu_si512(wq[i] + c * kChunk);
      ws[i] = _mm512_loadu_ps(wl[i] + c * 16);
    }
    for (int t = 0; t < T; ++t) {
      const __m512i x = _mm512_loadu_si512(xq[t] + c * kChunk);
      const __m512 xs = _mm512_loadu_ps(xl[t] + c * 16);
      // Lanes start at −128·Σx: the weights are stored as q + 128.
      const __m512i init = _mm512_slli_epi32(_mm512_loadu_si512(xn[t] + c * 16), 7);
      for (int i = 0; i < R; ++i) {
        const __m512i d = _mm512_dpbusd_epi32(init, w[i], x);
        acc[i][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(ws[i], xs), acc[i][t]);
      }
    }
  }
  __m512 v[16];
  for (int k = 0; k < 16; ++k) v[k] = _mm512_setzero_ps();
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) v[i * T + t] = acc[i][t];
  alignas(64) float sums[16];
  _mm512_store_ps(sums, reduce16(v));
  if (r.has_bias) {
    // Bias term: Σ_groups bias·(xscale·Σx), 16 groups per vector.
    for (int i = 0; i < R; ++i) {
      const float* bias = r.bias.data() + (i0 + i) * r.ng;
      for (int t = 0; t < T; ++t) {
        const float* gs = a.group_sum.data() + (t0 + t) * a.ng;
        __m512 b = _mm512_setzero_ps();
        for (int64_t g = 0; g < r.ng; g += 16)
          b = _mm512_fmadd_ps(_mm512_loadu_ps(bias + g), _mm512_loadu_ps(gs + g), b);
        v[i * T + t] = b;
      }
    }
    alignas(64) float bsum[16];
    _mm512_store_ps(bsum, reduce16(v));
    for (int k = 0; k < R * T; ++k) sums[k] += bsum[k];
  }
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) y[(t0 + t) * ldy + i0 + i] = sums[i * T + t];
}

// Four activation rows at once: their int32 lanes are merged (lane 4L+j of the result = the
// four lanes of 128-bit lane L of row j, one 16-value group, summed exactly in int32) before
// the float conversion and scaling, so the float work that competes with vpdpbusd for the
// same execution ports is done once per four products.
template <int R>
void tile_quad(const Rows& r, int64_t i0, const Acts& a, int64_t t0, float* y, int64_t ldy) {
  const int64_t kp = r.kp, chunks = kp / kChunk;
  const int8_t* wq[R];
  const float* wl[R];
  const int8_t* xq[4];
  const int32_t* xn[4];
  for (int i = 0; i < R; ++i) {
    wq[i] = r.q.data() + (i0 + i) * kp;
    wl[i] = r.lane_scale.data() + (i0 + i) * kp / 4;
  }
  for (int t = 0; t < 4; ++t) {
    xq[t] = a.q.data() + (t0 + t) * kp;
    xn[t] = a.neg_sum_lanes.data() + (t0 + t) * kp / 4;
  }
  const float* xp = a.quad_scale.data() + (t0 / 4) * kp / 4;
  __m512 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    __m512i x[4], n[4];
    for (int t = 0; t < 4; ++t) {
      x[t] = _mm512_loadu_si512(xq[t] + c * kChunk);
      n[t] = _mm512_slli_epi32(_mm512_loadu_si512(xn[t] + c * 16), 7);
    }
    const __m512 xs = _mm512_loadu_ps(xp + c * 16);
    for (int i = 0; i < R; ++i) {
      const __m512i w = _mm512_loadu_si512(wq[i] + c * kChunk);
      __m512i d[4];
      for (int t = 0; t < 4; ++t) d[t] = _mm512_dpbusd_epi32(n[t], w, x[t]);
      const __m512i m01 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[0], d[1]), _mm512_unpackhi_epi32(d[0], d[1]));
      const __m512i m23 = _mm512_add_epi32(_mm512_unpacklo_epi32(d[2], d[3]), _mm512_unpackhi_epi32(d[2], d[3]));
      const __m512i m = _mm512_add_epi32(_mm512_unpacklo_epi64(m01, m23), _mm512_unpackhi_epi64(m01, m23));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(m), _mm512_mul_ps(_mm512_loadu_ps(wl[i] + c * 16), xs), acc[i]);
    }
  }
  __m512 v[16];
  for (int k = 0; k < 16; ++k) v[k] = _mm512_setzero_ps();
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < 4; ++t) v[i * 4 + t] = _mm512_maskz_mov_ps(__mmask16(0x1111 << t), acc[i]);
  alignas(64) float sums[16];
  _mm512_store_ps(sums, reduce16(v));
  if (r.has_bias) {
    for (int i = 0; i < R; ++i) {
      const float* bias = r.bias.data() + (i0 + i) * r.ng;
      for (int t = 0; t < 4; ++t) {
        const float* gs = a.group_sum.data() + (t0 + t) * a.ng;
        __m512 b = _mm512_setzero_ps();
        for (int64_t g = 0; g < r.ng; g += 16)
          b = _mm512_fmadd_ps(_mm512_loadu_ps(bias + g), _mm512_loadu_ps(gs + g), b);
        v[i * 4 + t] = b;
      }
    }
    alignas(64) float bsum[16];
    _mm512_store_ps(bsum, reduce16(v));
    for (int k = 0; k < R * 4; ++k) sums[k] += bsum[k];
  }
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < 4; ++t) y[(t0 + t) * ldy + i0 + i] = sums[i * 4 + t];
}

using TileFn = void (*)(const Rows&, int64_t, const Acts&, int64_t, float*, int64_t);

constexpr TileFn pick_quad(int64_t rows) {
  switch (rows) {
    case 1: return tile_quad<1>;
    case 2: return tile_quad<2>;
    case 3: return tile_quad<3>;
    default: return tile_quad<4>;
  }
}

template <int T>
constexpr TileFn pick_r(int64_t rows) {
  switch (rows) {
    case 1: return tile<1, T>;
    case 2: return tile<2, T>;
    case 3: return tile<3, T>;
    default: return tile<4, T>;
  }
}

}  // namespace

void dot_rows_avx512(const Rows& r, const Acts& a, float* y, int64_t ldy) {
  if (a.n == 1) {
    // GEMV: wider row tiles give the load ports more independent work.
    int64_t i = 0;
    for (; i + 8 <= r.count; i += 8) tile<8, 1>(r, i, a, 0, y, ldy);
    for (; i < r.count; i += 4) pick_r<1>(std::min<int64_t>(4, r.count - i))(r, i, a, 0, y, ldy);
    return;
  }
  for (int64_t t = 0; t < a.n; t += 4) {
    const int64_t nt = std::min<int64_t>(4, a.n - t);
    for (int64_t i = 0; i < r.count; i += 4) {
      const int64_t ni = std::min<int64_t>(4, r.count - i);
      TileFn fn = nt == 4 ? pick_quad(ni) : nt == 3 ? pick_r<3>(ni) : nt == 2 ? pick_r<2>(ni) : pick_r<1>(ni);
      fn(r, i, a, t, y, ldy);
    }
  }
}

}  // namespace sputnik::qg
