// One query against its keys (decode) without BLAS: through sgemm, the two products of each
// head were two library calls per head per layer (672 a token for Qwen2.5-0.5B), whose fixed
// cost was most of the attention time at short contexts.
#pragma GCC diagnostic ignored "-Wuninitialized"  // _mm512_setzero_* in GCC 12 headers
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/activation.h"
#include "kernels/attention_isa.h"

namespace sputnik {

namespace {

// The 16 horizontal sums of v[0..15] as one vector, lane j = Σ v[j]: pairs, then quads within
// 128-bit lanes, then across lanes (45 operations instead of 16 full reductions of ~8 each).
inline __m512 sum16(const __m512* v) {
  __m512 w[8], z[4];
  for (int i = 0; i < 8; ++i)
    w[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i)
    z[i] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * i], w[2 * i + 1], 0x44),
                         _mm512_shuffle_ps(w[2 * i], w[2 * i + 1], 0xEE));
  const __m512 u0 = _mm512_add_ps(_mm512_shuffle_f32x4(z[0], z[1], 0x44), _mm512_shuffle_f32x4(z[0], z[1], 0xEE));
  const __m512 u1 = _mm512_add_ps(_mm512_shuffle_f32x4(z[2], z[3], 0x44), _mm512_shuffle_f32x4(z[2], z[3], 0xEE));
  return _mm512_add_ps(_mm512_shuffle_f32x4(u0, u1, 0x88), _mm512_shuffle_f32x4(u0, u1, 0xDD));
}

}  // namespace

namespace {

// scores[j] = scale · q·k_j for j in [0, keys): 16 keys at a time (each query slice loaded once for
// all 16, their sums reduced together by sum16), then one reduction per remaining key.
void scores_avx512(const float* q, int64_t dk, int64_t keys, const float* k, int64_t ldk, float scale, float* scores) {
  const __mmask16 ktail = __mmask16((1u << (dk % 16)) - 1);
  const __m512 vscale = _mm512_set1_ps(scale);
  int64_t j0 = 0;
  for (; j0 + 16 <= keys; j0 += 16) {
    __m512 acc[16];
    for (int j = 0; j < 16; ++j) acc[j] = _mm512_setzero_ps();
    const float* kb = k + j0 * ldk;
    int64_t d = 0;
    for (; d + 16 <= dk; d += 16) {
      const __m512 qd = _mm512_loadu_ps(q + d);
      for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(qd, _mm512_loadu_ps(kb + j * ldk + d), acc[j]);
    }
    if (d < dk) {
      const __m512 qd = _mm512_maskz_loadu_ps(ktail, q + d);
      for (int j = 0; j < 16; ++j) acc[j] = _mm512_fmadd_ps(qd, _mm512_maskz_loadu_ps(ktail, kb + j * ldk + d), acc[j]);
    }
    _mm512_storeu_ps(scores + j0, _mm512_mul_ps(vscale, sum16(acc)));
  }
  for (int64_t j = j0; j < keys; ++j) {
    const float* kj = k + j * ldk;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t d = 0;
    for (; d + 32 <= dk; d += 32) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), _mm512_loadu_ps(kj + d), a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d + 16), _mm512_loadu_ps(kj + d + 16), a1);
    }
    for (; d + 16 <= dk; d += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + d), _mm512_loadu_ps(kj + d), a0);
    if (d < dk) a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(ktail, q + d), _mm512_maskz_loadu_ps(ktail, kj + d), a1);
    scores[j] = scale * _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
  }
}

// out[:dv] (+)= Σ_{j in [j0, j1)} p[j] v_j, 64 output values at a time in registers; `accumulate`
// continues sums that an earlier call over the keys before j0 stored.
void weighted_values_avx512(const float* p, int64_t j0, int64_t j1, const float* v, int64_t ldv, int64_t dv,
                            bool accumulate, float* out) {
  const __mmask16 vtail = __mmask16((1u << (dv % 16)) - 1);
  for (int64_t d = 0; d < dv; d += 64) {
    const int64_t width = dv - d < 64 ? dv - d : 64;
    __m512 acc[4];
    for (int c = 0; c < 4; ++c) {
      const int64_t at = 16 * c;
      acc[c] = !accumulate || at >= width ? _mm512_setzero_ps()
               : at + 16 <= width         ? _mm512_loadu_ps(out + d + at)
                                          : _mm512_maskz_loadu_ps(vtail, out + d + at);
    }
    if (width == 64) {
      // The common case (head dims 64, 128, 512) without the per-key width tests (the compiler
      // does not hoist them).
      for (int64_t j = j0; j < j1; ++j) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const float* vj = v + j * ldv + d;
        acc[0] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj), acc[0]);
        acc[1] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 16), acc[1]);
        acc[2] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 32), acc[2]);
        acc[3] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 48), acc[3]);
      }
    } else {
      for (int64_t j = j0; j < j1; ++j) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const float* vj = v + j * ldv + d;
        for (int c = 0; c < 4; ++c) {
          const int64_t at = 16 * c;
          if (at + 16 <= width) acc[c] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + at), acc[c]);
          else if (at < width) acc[c] = _mm512_fmadd_ps(pj, _mm512_maskz_loadu_ps(vtail, vj + at), acc[c]);
        }
      }
    }
    for (int c = 0; c < 4; ++c) {
      const int64_t at = 16 * c;
      if (at + 16 <= width) _mm512_storeu_ps(out + d + at, acc[c]);
      else if (at < width) _mm512_mask_storeu_ps(out + d + at, vtail, acc[c]);
    }
  }
}

}  // namespace

void attend_one_avx512(const float* q, int64_t dk, int64_t keys, const float* k, int64_t ldk, const float* v,
                       int64_t ldv, int64_t dv, float scale, float* scores, float* out) {
  scores_avx512(q, dk, keys, k, ldk, scale, scores);
  softmax(scores, keys);
  weighted_values_avx512(scores, 0, keys, v, ldv, dv, false, out);
}

void attend_group_avx512(const float* q, int64_t ldq, int64_t heads, int64_t dk, int64_t keys, const float* k,
                         int64_t ldk, const float* v, int64_t ldv, int64_t dv, float scale, float* scores, float* out,
                         int64_t ldo) {
  // Blocks of 64 keys: their key and value rows stay in L1/L2 while every head of the group
  // reads them, so the cache streams from memory once per group, not once per head. Per head the
  // sums are those of attend_one_avx512, in the same order.
  constexpr int64_t kBlock = 64;
  for (int64_t j0 = 0; j0 < keys; j0 += kBlock) {
    const int64_t j1 = std::min(keys, j0 + kBlock);
    for (int64_t h = 0; h < heads; ++h) {
      // scores_avx512 groups keys by 16 from its first key, so whole blocks of 16 keep the grouping.
      scores_avx512(q + h * ldq, dk, j1 - j0, k + j0 * ldk, ldk, scale, scores + h * keys + j0);
    }
  }
  for (int64_t h = 0; h < heads; ++h) softmax(scores + h * keys, keys);
  for (int64_t j0 = 0; j0 < keys; j0 += kBlock) {
    const int64_t j1 = std::min(keys, j0 + kBlock);
    for (int64_t h = 0; h < heads; ++h)
      weighted_values_avx512(scores + h * keys, j0, j1, v, ldv, dv, j0 > 0, out + h * ldo);
  }
}

}  // namespace sputnik
