// Canonical rows/activations -> the group-major layout (qgemm_group.h): a 16 × 4 transpose of
// 32-bit pieces per super-group, plus per-group scales taken from the per-lane ones.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/qgemm_group.h"
#include "kernels/quant.h"
#include "kernels/tiles.h"

namespace sputnik::qg {
namespace {

// One row of kp values (canonical order) -> kq/4 quads in group-major order.
void transpose_row(const int8_t* src, int64_t kp, int64_t kq, int32_t* dst) {
  std::fill(dst, dst + kq / 4, 0);
  const int64_t groups = kp / 16;
  for (int64_t g = 0; g < groups; ++g)
    for (int s = 0; s < 4; ++s) std::memcpy(&dst[group_piece(g, s, kq)], src + 16 * g + 4 * s, 4);
}

}  // namespace

void to_group_rows(const Rows& r, GroupRows& g) {
  SPUTNIK_CHECK(r.offset128);
  const int64_t kp = r.kp, kq = padded_kq(kp), ng = kq / 16;
  g.count = r.count;
  g.kq = kq;
  g.has_bias = r.has_bias;
  g.q.resize(size_t(r.count * kq / 4));
  g.scale.assign(size_t(r.count * ng), 0.0f);
  g.bias.assign(size_t(r.count * ng), 0.0f);
  for (int64_t i = 0; i < r.count; ++i) {
    int32_t* q = g.q.data() + i * kq / 4;
    transpose_row(r.q.data() + i * kp, kp, kq, q);
    // Padding quads must read as q = 0, i.e. the byte 128 in the offset form.
    for (int64_t grp = kp / 16; grp < ng; ++grp)
      for (int s = 0; s < 4; ++s) q[group_piece(grp, s, kq)] = int32_t(0x80808080u);
    for (int64_t grp = 0; grp < kp / 16; ++grp) {
      g.scale[size_t(i * ng + grp)] = r.lane_scale[size_t(i * kp / 4 + 4 * grp)];
      if (r.has_bias) g.bias[size_t(i * ng + grp)] = r.bias[size_t(i * r.ng + grp)];
    }
  }
}

namespace {

// One stored block b (32 values = groups 2b, 2b+1) -> its 8 pieces. The two groups are adjacent
// lanes of the same super-group, so each piece pair is one 8-byte store.
template <bool kQ8>
inline void unpack_block(const uint8_t* block, int64_t b, int64_t full, int32_t* q) {
  const int64_t G = b / 8, lane = 2 * (b % 8);
  const int64_t base = G < full ? G * 64 : full * 64, stride = G < full ? 16 : 8;
  for (int s = 0; s < 4; ++s) {
    uint32_t lo, hi;
    if constexpr (kQ8) {  // q + 128 as an unsigned byte
      std::memcpy(&lo, block + 2 + 4 * s, 4);
      std::memcpy(&hi, block + 18 + 4 * s, 4);
      lo ^= 0x80808080u;
      hi ^= 0x80808080u;
    } else {  // nibble − 8 + 128 = nibble + 120: low nibbles are values 0..15, high 16..31
      uint32_t v;
      std::memcpy(&v, block + 2 + 4 * s, 4);
      lo = (v & 0x0F0F0F0Fu) + 0x78787878u;
      hi = ((v >> 4) & 0x0F0F0F0Fu) + 0x78787878u;
    }
    const uint64_t pair = uint64_t(lo) | uint64_t(hi) << 32;
    std::memcpy(q + base + s * stride + lane, &pair, 8);
  }
}

template <bool kQ8>
void unpack_group_row(const uint8_t* p, int64_t k, int64_t kq, int32_t* q, float* scale, uint16_t* bits,
                      bool avx512) {
  constexpr int64_t kBytes = kQ8 ? 34 : 18;
  const int64_t nb = k / 32, full = kq / 256, ng = kq / 16;
  for (int64_t b = 0; b < nb; ++b) bits[b] = load_u16(p + kBytes * b);
  // Whole super-groups (and a whole trailing half) of real blocks in vectors: the 32-bit moves
  // below were ~12% of a Q4_0 prefill.
  int64_t b = 0;
  if (avx512) {
    for (; b + 8 <= nb && b / 8 < full; b += 8) unpack_supergroup_avx512(p + kBytes * b, kQ8, false, q + 64 * (b / 8));
    if (b / 8 == full && b + 4 <= nb) {
      unpack_supergroup_avx512(p + kBytes * b, kQ8, true, q + 64 * full);
      b += 4;
    }
  }
  for (; b < nb; ++b) unpack_block<kQ8>(p + kBytes * b, b, full, q);
  // The row's f16 scales in one vectorized conversion (one call per block cost ~4%), then
  // spread over the two groups of each block.
  f16_to_f32_row(bits, scale + nb, nb);
  for (int64_t b = 0; b < nb; ++b) scale[2 * b] = scale[2 * b + 1] = scale[nb + b];
  for (int64_t grp = k / 16; grp < ng; ++grp) {  // padding reads as q = 0 with scale 0
    scale[grp] = 0.0f;
    for (int s = 0; s < 4; ++s) q[group_piece(grp, s, kq)] = int32_t(0x80808080u);
  }
}

}  // namespace

bool unpack_group_rows(const TensorView& w, int64_t row, int64_t count, GroupRows& g) {
  const bool q8 = w.dtype == DType::Q8_0;
  if ((!q8 && w.dtype != DType::Q4_0) || w.panels != 1) return false;
  const int64_t k = w.cols(), kq = padded_kq(padded_k(k)), ng = kq / 16;
  const bool avx512 = active_isa() == Isa::Avx512;
  const bool tiled = w.layout == Layout::Tiles16;
  if (tiled && !(avx512 && k % 128 == 0 && row % 16 == 0)) return false;
  g.count = count;
  g.kq = kq;
  g.has_bias = false;  // bias is then never read
  g.q.resize(size_t(count * kq / 4));
  g.scale.resize(size_t(count * ng));
  g.bias.resize(size_t(count * ng));
  static thread_local std::vector<uint16_t> bits;
  bits.resize(size_t(k / 32));
  const size_t row_bytes = w.row_bytes();
  int64_t i = 0;
  if (tiled)
    for (; i + 16 <= count && row + i + 16 <= w.row_major_from(); i += 16)
      unpack_tile_avx512(reinterpret_cast<const uint8_t*>(w.data) + size_t(row + i) * row_bytes, q8, k,
                         g.q.data() + i * kq / 4, kq / 4, g.scale.data() + i * ng, ng);
  for (; i < count; ++i) {  // row-major rows (for Tiles16, those past the last tile)
    const auto* p = reinterpret_cast<const uint8_t*>(w.data) + size_t(row + i) * row_bytes;
    // scale + nb .. scale + 2·nb holds the block scales before they are spread (nb ≤ ng / 2).
    if (q8) unpack_group_row<true>(p, k, kq, g.q.data() + i * kq / 4, g.scale.data() + i * ng, bits.data(), avx512);
    else unpack_group_row<false>(p, k, kq, g.q.data() + i * kq / 4, g.scale.data() + i * ng, bits.data(), avx512);
  }
  return true;
}

void to_group_acts(const Acts& a, GroupActs& g) {
  const int64_t kp = a.kp, kq = padded_kq(kp), ng = kq / 16;
  g.n = a.n;
  g.kq = kq;
  g.q.resize(size_t(a.n * kq / 4));
  g.scale.resize(size_t(a.n * ng));
  g.gsum.resize(size_t(a.n * ng));
  g.neg.resize(size_t(a.n * ng));
  parallel_for(a.n, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      transpose_row(a.q.data() + t * kp, kp, kq, g.q.data() + t * kq / 4);
      for (int64_t grp = 0; grp < ng; ++grp) {
        const bool in = grp < kp / 16;
        g.scale[size_t(t * ng + grp)] = in ? a.block_scale[size_t(t * a.kb + grp / 2)] : 0.0f;
        g.gsum[size_t(t * ng + grp)] = in ? a.group_sum[size_t(t * a.ng + grp)] : 0.0f;
        g.neg[size_t(t * ng + grp)] = in ? a.group_neg[size_t(t * kp / 16 + grp)] : 0;
      }
    }
  });
}

int64_t prefill_block_rows(int64_t out, int64_t k) {
  const int64_t share = (out + num_threads() - 1) / num_threads();
  return std::clamp<int64_t>((256 * 1024 / (2 * padded_k(k))) / 16 * 16, 16, (share + 15) / 16 * 16);
}

RowBlocks prefill_blocks(const TensorView& w) {
  const int64_t panels = w.row_panels() ? w.panels : 1, part = w.rows() / panels;
  int64_t block = prefill_block_rows(w.rows(), w.cols());
  if (panels > 1) {
    const int64_t per = (part + block - 1) / block;  // as many blocks a panel as that size makes
    block = ((part + per - 1) / per + 15) / 16 * 16;  // evened out, whole tiles
  }
  const int64_t per_part = (part + block - 1) / block;
  return {part, block, per_part, per_part * panels};
}

void prefill_block_avx512(const TensorView& w, int64_t r, int64_t count, const GroupActs& a, float* y, int64_t ldy) {
  static thread_local Rows rows;
  static thread_local GroupRows grows;
  static thread_local std::vector<std::byte> untiled;
  if (w.row_panels()) {  // each panel's share of the block of rows
    w.for_row_panel_pieces(r, r + count, [&](const TensorView& panel, int64_t b, int64_t e, int64_t at) {
      prefill_block_avx512(panel, b, e - b, a, y + (at - r), ldy);
    });
    return;
  }
  if (!unpack_group_rows(w, r, count, grows)) {
    if (w.layout == Layout::Tiles16) {
      SPUTNIK_CHECK(unpack_group_rows(row_major_rows(w, r, count, untiled), 0, count, grows));
    } else {
      unpack_rows(w, r, count, /*offset128=*/true, rows);
      to_group_rows(rows, grows);
    }
  }
  dot_group_avx512(grows, a, y, ldy);
}

}  // namespace sputnik::qg
