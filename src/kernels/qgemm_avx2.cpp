// AVX2 kernel of the canonical integer dot (qgemm.h). maddubs multiplies u8 × s8, so the sign
// of the (signed) weight is moved onto the activation: |w| · sign(x, w); |w| ≤ 128 and
// |x| ≤ 127 keep the pairwise i16 sums below saturation.
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm.h"

namespace sputnik::qg {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

template <int R, int T>
void tile(const Rows& r, int64_t i0, const Acts& a, int64_t t0, float* y, int64_t ldy) {
  const int64_t kp = r.kp, chunks = kp / 32;
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t* wq[R];
  const float* wl[R];
  const int8_t* xq[T];
  const float* xl[T];
  for (int i = 0; i < R; ++i) {
    wq[i] = r.q.data() + (i0 + i) * kp;
    wl[i] = r.lane_scale.data() + (i0 + i) * kp / 4;
  }
  for (int t = 0; t < T; ++t) {
    xq[t] = a.q.data() + (t0 + t) * kp;
    xl[t] = a.lane_scale.data() + (t0 + t) * kp / 4;
  }
  __m256 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) acc[i][t] = _mm256_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    __m256i w[R], aw[R];
    __m256 ws[R];
    for (int i = 0; i < R; ++i) {
      w[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq[i] + c * 32));
      aw[i] = _mm256_abs_epi8(w[i]);
      ws[i] = _mm256_loadu_ps(wl[i] + c * 8);
    }
    for (int t = 0; t < T; ++t) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + c * 32));
      const __m256 xs = _mm256_loadu_ps(xl[t] + c * 8);
      for (int i = 0; i < R; ++i) {
        const __m256i p = _mm256_maddubs_epi16(aw[i], _mm256_sign_epi8(x, w[i]));
        const __m256i d = _mm256_madd_epi16(p, ones);
        acc[i][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(d), _mm256_mul_ps(ws[i], xs), acc[i][t]);
      }
    }
  }
  for (int i = 0; i < R; ++i) {
    const float* bias = r.bias.data() + (i0 + i) * r.ng;
    for (int t = 0; t < T; ++t) {
      const float* gs = a.group_sum.data() + (t0 + t) * a.ng;
      __m256 b = _mm256_setzero_ps();
      for (int64_t g = 0; r.has_bias && g < r.ng; g += 8)
        b = _mm256_fmadd_ps(_mm256_loadu_ps(bias + g), _mm256_loadu_ps(gs + g), b);
      y[(t0 + t) * ldy + i0 + i] = hsum(acc[i][t]) + hsum(b);
    }
  }
}

}  // namespace

void dot_rows_avx2(const Rows& r, const Acts& a, float* y, int64_t ldy) {
  for (int64_t t = 0; t < a.n; t += 2) {
    const bool two_t = t + 1 < a.n;
    for (int64_t i = 0; i < r.count; i += 2) {
      const bool two_i = i + 1 < r.count;
      if (two_t && two_i) tile<2, 2>(r, i, a, t, y, ldy);
      else if (two_t) tile<1, 2>(r, i, a, t, y, ldy);
      else if (two_i) tile<2, 1>(r, i, a, t, y, ldy);
      else tile<1, 1>(r, i, a, t, y, ldy);
    }
  }
}

}  // namespace sputnik::qg
