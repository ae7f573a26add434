// Fused AVX-512 VNNI decode kernels: Q8_0, Q4_0, Q4_K and Q6_K weight rows are read straight from
// their blocks (no unpacked copy), so a GEMV streams only the stored bytes. Each 64-value step
// is one vpdpbusd per activation row; int32 lanes are scaled per block and summed in f32.
//   Q8_0: u = q ^ 0x80 (= q + 128), so Σ q·x = Σ u·x − 128·Σ x; the −128·Σx starts the lanes.
//   Q4_0: q in [0, 15] already unsigned, Σ (q − 8)·x = Σ q·x − 8·Σ x, likewise.
//   Q4_K: w = d·sc·q − dmin·m per 32; the min term is Σ_blocks dmin·m·(xscale·Σx), in f32.
//   Q6_K: q in [0, 63], w = d·sc·(q − 32) per 16; lanes start at −32·Σx.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <array>
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"

namespace sputnik::qg {
namespace {

inline float half(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

struct ActPtrs {
  const int8_t* q;
  const float* bscale;
  const float* bsum;
  const int32_t* neg;
};

template <int T>
void acts_of(const Acts& a, ActPtrs (&ap)[T]) {
  for (int t = 0; t < T; ++t)
    ap[t] = {a.q.data() + t * a.kp, a.block_scale.data() + t * a.kb, a.block_sum.data() + t * a.kb,
             a.neg_sum_lanes.data() + t * a.kp / 4};
}

// Weight scales of blocks b and b+1 (f16, `stride` bytes apart) as lanes [d0 ×8, d1 ×8];
// d1 = 0 past the end of the row.
inline __m512 pair_scales(const uint8_t* p0, int64_t stride, bool pair) {
  const uint32_t h = uint32_t(load_u16(p0)) | (pair ? uint32_t(load_u16(p0 + stride)) << 16 : 0u);
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(int(h)));
  const __m512i idx = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi32(1), 1);
  return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(f));
}

// Q8_0: 64 values of blocks b, b+1 as u8 (q + 128).
struct Q8Block {
  static constexpr int64_t kBytes = 34;
  static constexpr int kShift = 7;  // lanes start at −128·Σx
  static __m512i load(const uint8_t* p0, bool pair) {
    __m512i wq = _mm512_zextsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + 2)));
    if (pair) wq = _mm512_inserti64x4(wq, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + 36)), 1);
    return _mm512_xor_si512(wq, _mm512_set1_epi8(char(0x80)));  // padding lanes meet x = 0
  }
};

// Q4_0: 64 values of blocks b, b+1 as u8 nibbles q in [0, 15].
struct Q4Block {
  static constexpr int64_t kBytes = 18;
  static constexpr int kShift = 3;  // lanes start at −8·Σx
  static __m512i load(const uint8_t* p0, bool pair) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    __m256i v = _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + 2)));
    if (pair) v = _mm256_inserti128_si256(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + 20)), 1);
    const __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    // [b0 lo, b1 lo, b0 hi, b1 hi] -> [b0 lo, b0 hi, b1 lo, b1 hi]: values in block order.
    const __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
    return _mm512_shuffle_i64x2(wq, wq, _MM_SHUFFLE(3, 1, 2, 0));
  }
};

// acc[t] += blocks [b0, nb) of the row at p · activation row t, two blocks per step.
template <class B, int T>
void add_blocks32(const uint8_t* p, int64_t b0, int64_t nb, const Acts& a, __m512 (&acc)[T]) {
  const int8_t* xq[T];
  const int32_t* xn[T];
  const float* xl[T];
  for (int t = 0; t < T; ++t) {
    xq[t] = a.q.data() + t * a.kp;
    xn[t] = a.neg_sum_lanes.data() + t * a.kp / 4;
    xl[t] = a.lane_scale.data() + t * a.kp / 4;
  }
  for (int64_t b = b0; b < nb; b += 2) {
    const bool pair = b + 1 < nb;
    const uint8_t* p0 = p + B::kBytes * b;
    const __m512i wq = B::load(p0, pair);
    const __m512 ws = pair_scales(p0, B::kBytes, pair);
    for (int t = 0; t < T; ++t) {
      const __m512i init = _mm512_slli_epi32(_mm512_loadu_si512(xn[t] + 8 * b), B::kShift);
      const __m512i dot = _mm512_dpbusd_epi32(init, wq, _mm512_loadu_si512(xq[t] + 32 * b));
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, _mm512_loadu_ps(xl[t] + 8 * b)), acc[t]);
    }
  }
}

// One weight row × T activation rows. Rows go one after another, so a thread's share of W is
// read as a single sequential stream; interleaving two rows (to reuse the activation loads)
// measured 2.7× slower for Q8_0 from DRAM, the hardware prefetcher losing the short streams.
template <class B, int T>
void row_32(const uint8_t* row, int64_t cols, int64_t r, const Acts& a, float* y, int64_t ldy) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  add_blocks32<B, T>(row, 0, cols / 32, a, acc);
  for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
}

template <class B, int T>
void rows_blocks32(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
  // Row size and count once per call: TensorView::row() recomputes them (1% of decode).
  const int64_t cols = w.cols();
  const size_t row_bytes = w.row_bytes();
  const auto* base = reinterpret_cast<const uint8_t*>(w.data);
  for (int64_t r = r0; r < r1; ++r) row_32<B, T>(base + size_t(r) * row_bytes, cols, r, a, y, ldy);
}

// Q4_0, four blocks (128 values, 72 bytes) per step, against Acts::q4 whose order matches the
// stored nibbles: block b's 16 bytes are words 1 + 9b .. 8 + 9b of the step (18-byte blocks
// keep them word aligned), gathered with one two-source word permute; the four f16 scales are
// words 0, 9, 18, 27. Then the low nibbles of all four blocks meet one activation vector and
// the high nibbles the other, so a step is two vpdpbusd into lanes that each hold one block,
// with no shuffle into value order (about half the instructions of the two-block loop).
// Blocks past the last whole step go through row_32's two-block loop.
// Word indices for row_q4_0x4's permutes, fixed at compile time rather than rebuilt per row.
// Nibbles: lane word j takes word 1 + 9·(j/8) + j%8 of the step (≥ 32 selects the second
// source, bytes 64..71); scales: word j takes block (j%16)/4's f16 scale, word 9·block.
constexpr auto kQ4Words = [](bool scales) {
  std::array<int16_t, 32> w{};
  for (int j = 0; j < 32; ++j) w[size_t(j)] = int16_t(scales ? 9 * ((j % 16) / 4) : 1 + 9 * (j / 8) + j % 8);
  return w;
};
alignas(64) constexpr std::array<int16_t, 32> kQ4NibbleWords = kQ4Words(false);
alignas(64) constexpr std::array<int16_t, 32> kQ4ScaleWords = kQ4Words(true);

template <int T>
void row_q4_0x4(const uint8_t* p, int64_t cols, int64_t r, const Acts& a, float* y, int64_t ldy) {
  const int64_t nb = cols / 32, ng = a.kg;
  const __m512i nib_idx = _mm512_load_si512(kQ4NibbleWords.data()), scale_idx = _mm512_load_si512(kQ4ScaleWords.data());
  const __m512i low = _mm512_set1_epi8(0x0F);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < ng; ++g) {
    const uint8_t* q = p + 72 * g;
    // The hardware prefetcher alone leaves this loop ~10% short of its in-cache speed when W
    // streams from DRAM (measured on the lm_head shape); Q8_0's loop measured no gain from it.
    _mm_prefetch(reinterpret_cast<const char*>(q + 2048), _MM_HINT_T0);
    const __m512i v0 = _mm512_loadu_si512(q);
    // Only the 8 bytes of this step: a full load could run past the end of the tensor.
    const __m512i v1 = _mm512_castsi128_si512(_mm_maskz_loadu_epi8(0x00FF, q + 64));
    const __m512i nib = _mm512_permutex2var_epi16(v0, nib_idx, v1);
    const __m512 ws = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_idx, v0)));
    const __m512i lo = _mm512_and_si512(nib, low), hi = _mm512_and_si512(_mm512_srli_epi16(nib, 4), low);
    for (int t = 0; t < T; ++t) {
      const int8_t* xq = a.q4.data() + (t * ng + g) * 128;
      const __m512i init = _mm512_loadu_si512(a.q4_neg.data() + (t * ng + g) * 16);
      __m512i dot = _mm512_dpbusd_epi32(init, lo, _mm512_loadu_si512(xq));
      dot = _mm512_dpbusd_epi32(dot, hi, _mm512_loadu_si512(xq + 64));
      const __m512 xs = _mm512_loadu_ps(a.q4_scale.data() + (t * ng + g) * 16);
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, xs), acc[t]);
    }
  }
  if (4 * ng < nb) add_blocks32<Q4Block, T>(p, 4 * ng, nb, a, acc);  // a call per row: ~1.5% of decode
  for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
}

// The eight 6-bit scales and mins of a Q4_K block as bytes (see q4k_scale_min), four at a
// time with 32-bit word operations.
inline void q4k_unpack_scales(const uint8_t* packed, uint64_t* sc, uint64_t* mn) {
  uint32_t w0, w1, w2;
  std::memcpy(&w0, packed, 4);
  std::memcpy(&w1, packed + 4, 4);
  std::memcpy(&w2, packed + 8, 4);
  const uint32_t sc_lo = w0 & 0x3f3f3f3f, m_lo = w1 & 0x3f3f3f3f;
  const uint32_t sc_hi = (w2 & 0x0f0f0f0f) | (((w0 >> 6) & 0x03030303) << 4);
  const uint32_t m_hi = ((w2 >> 4) & 0x0f0f0f0f) | (((w1 >> 6) & 0x03030303) << 4);
  *sc = uint64_t(sc_lo) | (uint64_t(sc_hi) << 32);
  *mn = uint64_t(m_lo) | (uint64_t(m_hi) << 32);
}

inline __m256 bytes_to_ps(uint64_t v) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(int64_t(v))));
}

template <int T>
void rows_q4_k(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
  ActPtrs ap[T];
  acts_of<T>(a, ap);
  const int64_t nsb = w.cols() / 256;
  const __m256i low = _mm256_set1_epi8(0x0F);
  __m512i idx[4];
  for (int j = 0; j < 4; ++j)
    idx[j] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi32(2 * j)), _mm256_set1_epi32(2 * j + 1), 1);
  for (int64_t r = r0; r < r1; ++r) {
    const auto* p = reinterpret_cast<const uint8_t*>(w.row(r));
    __m512 acc[T];
    __m256 mins[T];
    for (int t = 0; t < T; ++t) {
      acc[t] = _mm512_setzero_ps();
      mins[t] = _mm256_setzero_ps();
    }
    for (int64_t s = 0; s < nsb; ++s, p += 144) {
      uint64_t sc, mn;
      q4k_unpack_scales(p + 4, &sc, &mn);
      const __m256 dsc = _mm256_mul_ps(_mm256_set1_ps(half(p)), bytes_to_ps(sc));
      const __m256 dmn = _mm256_mul_ps(_mm256_set1_ps(half(p + 2)), bytes_to_ps(mn));
      __m512 scale[T];
      for (int t = 0; t < T; ++t) {
        scale[t] = _mm512_castps256_ps512(_mm256_mul_ps(dsc, _mm256_loadu_ps(ap[t].bscale + 8 * s)));
        mins[t] = _mm256_fmadd_ps(dmn, _mm256_loadu_ps(ap[t].bsum + 8 * s), mins[t]);
      }
      for (int j = 0; j < 4; ++j) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * j));
        const __m256i lo = _mm256_and_si256(v, low), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
        const __m512i wq = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        for (int t = 0; t < T; ++t) {
          const __m512i dot =
              _mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, _mm512_loadu_si512(ap[t].q + 256 * s + 64 * j));
          acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(idx[j], scale[t]), acc[t]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      __m128 m = _mm_add_ps(_mm256_castps256_ps128(mins[t]), _mm256_extractf128_ps(mins[t], 1));
      m = _mm_add_ps(m, _mm_movehl_ps(m, m));
      m = _mm_add_ss(m, _mm_movehdup_ps(m));
      y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]) - _mm_cvtss_f32(m);
    }
  }
}

// Q6_K: per half super-block (128 values) ql holds the low 4 bits of values l and l+64 (bytes
// 0..31) and l+32, l+96 (bytes 32..63); qh the top 2 bits of l, l+32, l+64, l+96 at bit 0, 2,
// 4, 6. Values are q − 32 with q in [0, 63], a signed scale per 16 values and one f16 d.
template <int T>
void rows_q6_k(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
  const int64_t nsb = w.cols() / 256;
  const int8_t* xq[T];
  const int32_t* xn[T];
  const float* xl[T];
  for (int t = 0; t < T; ++t) {
    xq[t] = a.q.data() + t * a.kp;
    xn[t] = a.neg_sum_lanes.data() + t * a.kp / 4;
    xl[t] = a.lane_scale.data() + t * a.kp / 4;
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
  __m512i idx[4];  // chunk j: lane l takes the scale of group 4j + l/4
  for (int j = 0; j < 4; ++j)
    idx[j] = _mm512_add_epi32(_mm512_set1_epi32(4 * j), _mm512_srli_epi32(
                                  _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), 2));
  for (int64_t r = r0; r < r1; ++r) {
    const auto* p = reinterpret_cast<const uint8_t*>(w.row(r));
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (int64_t s = 0; s < nsb; ++s, p += 210) {
      const __m512 scale = _mm512_mul_ps(
          _mm512_set1_ps(half(p + 208)),
          _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192)))));
      for (int h = 0; h < 2; ++h) {
        const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h));
        const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * h));
        const __m256i v0 = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
        const __m256i v1 = _mm256_or_si256(_mm256_and_si256(ql1, m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
        const __m256i v2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
        const __m256i v3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
        const __m512i wq[2] = {_mm512_inserti64x4(_mm512_castsi256_si512(v0), v1, 1),
                               _mm512_inserti64x4(_mm512_castsi256_si512(v2), v3, 1)};
        for (int c = 0; c < 2; ++c) {
          const int j = 2 * h + c;
          const int64_t off = 256 * s + 64 * j;  // value offset in the row
          const __m512 ws = _mm512_permutexvar_ps(idx[j], scale);
          for (int t = 0; t < T; ++t) {
            const __m512i init = _mm512_slli_epi32(_mm512_loadu_si512(xn[t] + off / 4), 5);  // −32·Σx
            const __m512i dot = _mm512_dpbusd_epi32(init, wq[c], _mm512_loadu_si512(xq[t] + off));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(ws, _mm512_loadu_ps(xl[t] + off / 4)), acc[t]);
          }
        }
      }
    }
    for (int t = 0; t < T; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[t]);
  }
}

template <template <int> class Kernel>
struct Dispatch;

template <int T>
struct Q8 { static void run(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) { rows_blocks32<Q8Block, T>(w, r0, r1, a, y, ldy); } };
template <int T>
struct Q4 {
  static void run(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
    if (a.kg > 0 && a.q4.size() >= size_t(a.n * a.kg * 128)) {
      const int64_t cols = w.cols();
      const size_t row_bytes = w.row_bytes();
      const auto* base = reinterpret_cast<const uint8_t*>(w.data);
      for (int64_t r = r0; r < r1; ++r) row_q4_0x4<T>(base + size_t(r) * row_bytes, cols, r, a, y, ldy);
    } else {
      rows_blocks32<Q4Block, T>(w, r0, r1, a, y, ldy);
    }
  }
};
template <int T>
struct Q6K { static void run(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) { rows_q6_k<T>(w, r0, r1, a, y, ldy); } };
template <int T>
struct Q4K { static void run(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) { rows_q4_k<T>(w, r0, r1, a, y, ldy); } };

template <template <int> class K>
void by_n(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
  switch (a.n) {
    case 1: K<1>::run(w, r0, r1, a, y, ldy); break;
    case 2: K<2>::run(w, r0, r1, a, y, ldy); break;
    case 3: K<3>::run(w, r0, r1, a, y, ldy); break;
    default: K<4>::run(w, r0, r1, a, y, ldy); break;
  }
}

}  // namespace

bool gemv_avx512(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy) {
  if (a.n < 1 || a.n > kMaxFusedN || w.column_panels()) return false;
  if (w.row_panels()) {  // each panel's share of the rows (whole tiles), into its rows of y
    SPUTNIK_CHECK(r0 % 16 == 0 && r1 % 16 == 0);
    bool served = true;
    w.for_row_panel_pieces(r0, r1, [&](const TensorView& panel, int64_t b, int64_t e, int64_t at) {
      served = served && gemv_avx512(panel, b, e, a, y + (at - b), ldy);
    });
    return served;
  }
  if (w.layout == Layout::Tiles16) {
    const int64_t from = w.row_major_from();
    SPUTNIK_CHECK(r0 % 16 == 0 && (r1 % 16 == 0 || r1 == w.rows()));
    if (r0 < from) gemv_tiles_avx512(w, r0 / 16, std::min(r1, from) / 16, a, y, ldy);
    r0 = std::max(r0, from);
    if (r0 >= r1) return true;
  }
  SPUTNIK_CHECK(a.all_forms);  // the row-major kernels read the lane forms
  switch (w.dtype) {
    case DType::Q8_0: by_n<Q8>(w, r0, r1, a, y, ldy); return true;
    case DType::Q4_0: by_n<Q4>(w, r0, r1, a, y, ldy); return true;
    case DType::Q4_K: by_n<Q4K>(w, r0, r1, a, y, ldy); return true;
    case DType::Q6_K: by_n<Q6K>(w, r0, r1, a, y, ldy); return true;
    default: return false;
  }
}

}  // namespace sputnik::qg
