// AVX-512 VNNI prefill GEMM on the group-major layout (qgemm_group.h): per super-group of 256
// values, R×T int32 accumulators collect four vpdpbusd each (lanes = 16-value groups), then
// one conversion and one scaled FMA per row pair.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "kernels/qgemm_group.h"
#include "kernels/transpose_avx512.h"

namespace sputnik::qg {
namespace {

// Lane k of the result = sum of v[k]; each vector's lanes are added in the same order
// whatever its slot, so results do not depend on the tile shape.
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

template <int R, int T>  // T = 1, 2 or 4
void tile(const GroupRows& r, int64_t i0, const GroupActs& a, int64_t t0, float* y, int64_t ldy) {
  const int64_t kq4 = r.kq / 4, ng = r.kq / 16, supers = r.kq / 256;
  __m512 acc[R][T];
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) acc[i][t] = _mm512_setzero_ps();
  for (int64_t G = 0; G < supers; ++G) {
    // Activation rows two at a time keep the int32 accumulators (R × 2) in registers next
    // to the R × T float ones.
    for (int th = 0; th < T; th += 2) {
      constexpr int kHalf = T < 2 ? T : 2;
      __m512i dot[R][kHalf];
      for (int u = 0; u < kHalf; ++u) {
        // Weights are q + 128: lanes start at −128·Σx of their group.
        const __m512i init = _mm512_slli_epi32(_mm512_loadu_si512(a.neg.data() + (t0 + th + u) * ng + 16 * G), 7);
        for (int i = 0; i < R; ++i) dot[i][u] = init;
      }
      for (int s = 0; s < 4; ++s) {
        __m512i x[kHalf];
        for (int u = 0; u < kHalf; ++u)
          x[u] = _mm512_loadu_si512(a.q.data() + (t0 + th + u) * kq4 + 64 * G + 16 * s);
        for (int i = 0; i < R; ++i) {
          const __m512i w = _mm512_loadu_si512(r.q.data() + (i0 + i) * kq4 + 64 * G + 16 * s);
          for (int u = 0; u < kHalf; ++u) dot[i][u] = _mm512_dpbusd_epi32(dot[i][u], w, x[u]);
        }
      }
      for (int i = 0; i < R; ++i) {
        const __m512 ws = _mm512_loadu_ps(r.scale.data() + (i0 + i) * ng + 16 * G);
        for (int u = 0; u < kHalf; ++u) {
          const __m512 xs = _mm512_loadu_ps(a.scale.data() + (t0 + th + u) * ng + 16 * G);
          acc[i][th + u] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i][u]), _mm512_mul_ps(ws, xs), acc[i][th + u]);
        }
        if (r.has_bias) {
          const __m512 b = _mm512_loadu_ps(r.bias.data() + (i0 + i) * ng + 16 * G);
          for (int u = 0; u < kHalf; ++u)
            acc[i][th + u] =
                _mm512_fmadd_ps(b, _mm512_loadu_ps(a.gsum.data() + (t0 + th + u) * ng + 16 * G), acc[i][th + u]);
        }
      }
    }
  }
  if (r.kq % 256 != 0) {  // the last half super-group: 8 groups on 256-bit vectors
    const int64_t G = supers;
    for (int th = 0; th < T; th += 2) {
      constexpr int kHalf = T < 2 ? T : 2;
      __m256i dot[R][kHalf];
      for (int u = 0; u < kHalf; ++u) {
        const __m256i init = _mm256_slli_epi32(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.neg.data() + (t0 + th + u) * ng + 16 * G)), 7);
        for (int i = 0; i < R; ++i) dot[i][u] = init;
      }
      for (int s = 0; s < 4; ++s) {
        __m256i x[kHalf];
        for (int u = 0; u < kHalf; ++u)
          x[u] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.q.data() + (t0 + th + u) * kq4 + 64 * G + 8 * s));
        for (int i = 0; i < R; ++i) {
          const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.q.data() + (i0 + i) * kq4 + 64 * G + 8 * s));
          for (int u = 0; u < kHalf; ++u) dot[i][u] = _mm256_dpbusd_epi32(dot[i][u], w, x[u]);
        }
      }
      for (int i = 0; i < R; ++i) {
        const __m256 ws = _mm256_loadu_ps(r.scale.data() + (i0 + i) * ng + 16 * G);
        for (int u = 0; u < kHalf; ++u) {
          const __m256 xs = _mm256_loadu_ps(a.scale.data() + (t0 + th + u) * ng + 16 * G);
          acc[i][th + u] = _mm512_fmadd_ps(_mm512_zextps256_ps512(_mm256_cvtepi32_ps(dot[i][u])),
                                           _mm512_zextps256_ps512(_mm256_mul_ps(ws, xs)), acc[i][th + u]);
        }
        if (r.has_bias) {
          const __m256 b = _mm256_loadu_ps(r.bias.data() + (i0 + i) * ng + 16 * G);
          for (int u = 0; u < kHalf; ++u)
            acc[i][th + u] = _mm512_fmadd_ps(
                _mm512_zextps256_ps512(b),
                _mm512_zextps256_ps512(_mm256_loadu_ps(a.gsum.data() + (t0 + th + u) * ng + 16 * G)), acc[i][th + u]);
        }
      }
    }
  }
  __m512 v[16];
  for (int k = 0; k < 16; ++k) v[k] = _mm512_setzero_ps();
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) v[i * T + t] = acc[i][t];
  alignas(64) float sums[16];
  _mm512_store_ps(sums, reduce16(v));
  for (int i = 0; i < R; ++i)
    for (int t = 0; t < T; ++t) y[(t0 + t) * ldy + i0 + i] = sums[i * T + t];
}

using TileFn = void (*)(const GroupRows&, int64_t, const GroupActs&, int64_t, float*, int64_t);

template <int T>
TileFn pick(int64_t rows) {
  switch (rows) {
    case 1: return tile<1, T>;
    case 2: return tile<2, T>;
    case 3: return tile<3, T>;
    default: return tile<4, T>;
  }
}

}  // namespace

void dot_group_avx512(const GroupRows& r, const GroupActs& a, float* y, int64_t ldy) {
  // Activation tiles of 4, then 2, then 1 (tile<R, T> walks its rows in pairs).
  for (int64_t t = 0; t < a.n;) {
    const int64_t nt = a.n - t >= 4 ? 4 : a.n - t >= 2 ? 2 : 1;
    for (int64_t i = 0; i < r.count; i += 4) {
      const int64_t ni = std::min<int64_t>(4, r.count - i);
      const TileFn fn = nt == 4 ? pick<4>(ni) : nt == 2 ? pick<2>(ni) : pick<1>(ni);
      fn(r, i, a, t, y, ldy);
    }
    t += nt;
  }
}

namespace {

// Piece indices: lane l of vector s takes dword `index(l, s)` of a two-register source; the
// same pattern serves lanes 0..7 (blocks 0..3) and 8..15 (blocks 4..7).
template <bool kQ8>
__m512i piece_index(int s) {
  alignas(64) int32_t idx[16];
  for (int l = 0; l < 16; ++l) {
    const int b = (l % 8) / 2, upper = l % 2;
    // Q8_0: block b's 8 dwords at 8b of [Z0, Z1]; its upper group is dwords 4..7.
    // Q4_0: block b's 4 dwords at 4b; its upper group (high nibbles) is the second source.
    idx[l] = kQ8 ? 8 * b + 4 * upper + s : 16 * upper + 4 * b + s;
  }
  return _mm512_load_si512(idx);
}

template <bool kQ8>
void unpack_supergroup(const uint8_t* p, bool half, int32_t* q) {
  __m512i src[4];  // two source pairs: blocks 0..3 and 4..7
  if constexpr (kQ8) {
    const auto y = [&](int b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 34 * b + 2)); };
    const __m512i flip = _mm512_set1_epi8(char(0x80));  // q + 128 as an unsigned byte
    for (int i = 0; i < (half ? 2 : 4); ++i)
      src[i] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(y(2 * i)), y(2 * i + 1), 1), flip);
  } else {
    const auto x = [&](int b) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 18 * b + 2)); };
    const __m512i low = _mm512_set1_epi8(0x0F), off = _mm512_set1_epi8(0x78);  // nibble − 8 + 128
    for (int i = 0; i < (half ? 1 : 2); ++i) {
      __m512i v = _mm512_castsi128_si512(x(4 * i));
      v = _mm512_inserti32x4(v, x(4 * i + 1), 1);
      v = _mm512_inserti32x4(v, x(4 * i + 2), 2);
      v = _mm512_inserti32x4(v, x(4 * i + 3), 3);
      src[2 * i] = _mm512_add_epi8(_mm512_and_si512(v, low), off);
      src[2 * i + 1] = _mm512_add_epi8(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), off);
    }
  }
  for (int s = 0; s < 4; ++s) {
    const __m512i idx = piece_index<kQ8>(s);
    const __m512i a = _mm512_permutex2var_epi32(src[0], idx, src[1]);
    if (half) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 8 * s), _mm512_castsi512_si256(a));
    } else {
      const __m512i b = _mm512_permutex2var_epi32(src[2], idx, src[3]);
      _mm512_storeu_si512(q + 16 * s, _mm512_mask_blend_epi32(0xFF00, a, b));
    }
  }
}

}  // namespace

void unpack_supergroup_avx512(const uint8_t* blocks, bool q8, bool half, int32_t* q) {
  if (q8) unpack_supergroup<true>(blocks, half, q);
  else unpack_supergroup<false>(blocks, half, q);
}

namespace {

template <bool kQ8>
void unpack_tile(const uint8_t* tile, int64_t k, int32_t* q, int64_t ldq, float* scale, int64_t ldscale) {
  constexpr int64_t kBlock = kQ8 ? 544 : 288;
  const int64_t nb = k / 32, full = k / 256;
  const __m512i low = _mm512_set1_epi8(0x0F), bias = _mm512_set1_epi8(0x78);  // nibble − 8 + 128
  // Piece s of the groups of blocks [b0, b0 + blocks): vector j = 2·(b − b0) + h holds group
  // 2b + h (lanes = rows), so after the transpose row i's vector is its pieces in group order.
  auto pieces = [&](int64_t b0, int blocks, int s, __m512i (&v)[16]) {
    for (int j = 0; j < 16; ++j) v[j] = _mm512_setzero_si512();
    for (int bb = 0; bb < blocks; ++bb) {
      const uint8_t* blk = tile + (b0 + bb) * kBlock + 32;
      if constexpr (kQ8) {
        v[2 * bb] = _mm512_loadu_si512(blk + 64 * s);
        v[2 * bb + 1] = _mm512_loadu_si512(blk + 64 * (4 + s));
      } else {
        const __m512i c = _mm512_loadu_si512(blk + 64 * s);
        v[2 * bb] = _mm512_add_epi8(_mm512_and_si512(c, low), bias);
        v[2 * bb + 1] = _mm512_add_epi8(_mm512_and_si512(_mm512_srli_epi16(c, 4), low), bias);
      }
    }
  };
  __m512i v[16];
  for (int64_t G = 0; G < full; ++G)
    for (int s = 0; s < 4; ++s) {
      pieces(8 * G, 8, s, v);
      transpose16x16(v);
      for (int i = 0; i < 16; ++i) _mm512_storeu_si512(q + i * ldq + 64 * G + 16 * s, v[i]);
    }
  if (nb > 8 * full) {  // the trailing half super-group: 8 groups, vectors of 8 pieces
    for (int s = 0; s < 4; ++s) {
      pieces(8 * full, 4, s, v);
      transpose16x16(v);
      for (int i = 0; i < 16; ++i)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i * ldq + 64 * full + 8 * s), _mm512_castsi512_si256(v[i]));
    }
  }
  alignas(64) float f[16];
  for (int64_t b = 0; b < nb; ++b) {
    _mm512_store_ps(f, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile + b * kBlock))));
    for (int i = 0; i < 16; ++i) scale[i * ldscale + 2 * b] = scale[i * ldscale + 2 * b + 1] = f[i];
  }
}

}  // namespace

void unpack_tile_avx512(const uint8_t* tile, bool q8, int64_t k, int32_t* q, int64_t ldq, float* scale,
                        int64_t ldscale) {
  if (q8) unpack_tile<true>(tile, k, q, ldq, scale, ldscale);
  else unpack_tile<false>(tile, k, q, ldq, scale, ldscale);
}

}  // namespace sputnik::qg
