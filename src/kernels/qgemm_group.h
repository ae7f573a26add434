#pragma once
// Internal: the "group-major" layout of the AVX-512 prefill GEMM. In qgemm.h's canonical form
// every 4-value lane of every vpdpbusd needs its own float scaling; here each 32-bit lane of a
// vector instead collects a whole 16-value group (one weight scale, one activation scale) over
// four vpdpbusd, so the int32 → f32 conversion and scaling run once per 256 values per row
// pair instead of once per 64.
//
// Per super-group of 256 values (16 groups), vector s (0..3) holds bytes 4s..4s+3 of each of
// the 16 groups, lane l = group l. A last half super-group (128 values, e.g. hidden 896 =
// 3.5 × 256) is stored the same way with 8 lanes and runs on 256-bit vectors; rows and
// activations are padded to a multiple of 128.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/qgemm.h"

namespace sputnik::qg {

inline int64_t padded_kq(int64_t kp) { return (kp + 127) / 128 * 128; }
// Index of the 4-byte piece s of 16-value group g in a row of kq values.
inline int64_t group_piece(int64_t g, int s, int64_t kq) {
  const int64_t full = kq / 256, sg = g / 16;
  return sg < full ? sg * 64 + s * 16 + g % 16 : full * 64 + s * 8 + g % 16;
}

struct GroupRows {
  int64_t count = 0, kq = 0;
  bool has_bias = false;
  std::vector<int32_t> q;      // [count][kq/4] u8 quads (q + 128), group-major
  std::vector<float> scale;    // [count][kq/16]
  std::vector<float> bias;     // [count][kq/16]
};

struct GroupActs {
  int64_t n = 0, kq = 0;
  std::vector<int32_t> q;      // [n][kq/4] s8 quads, group-major
  std::vector<float> scale;    // [n][kq/16] xscale
  std::vector<float> gsum;     // [n][kq/16] xscale·Σx
  std::vector<int32_t> neg;    // [n][kq/16] −Σx
};

// From the canonical forms (rows unpacked with offset128).
void to_group_rows(const Rows& r, GroupRows& g);
// Rows [row, row+count) of a Q8_0 or Q4_0 tensor straight from the stored blocks into the
// group-major form (what unpack_rows + to_group_rows give, in one pass of 32-bit moves: at MoE
// prefill each expert sees few tokens, and the two-step unpack was ~13% of the time). Tiles16
// tensors too, from whole tiles when row % 16 == 0 and k % 128 == 0 on AVX-512. False for
// other dtypes and other tiled cases (matrices in panels among them).
bool unpack_group_rows(const TensorView& w, int64_t row, int64_t count, GroupRows& g);
// AVX-512 form of that unpack for one super-group: 8 stored blocks (or the first 4 when
// `half`, a trailing 128-value half super-group) -> its 4 vectors of 16 (8) pieces at q,
// vector s at q + 16·s (q + 8·s). Only on CPUs with AVX-512 (BW, F).
void unpack_supergroup_avx512(const uint8_t* blocks, bool q8, bool half, int32_t* q);
// The same for one tile of a Tiles16 Q8_0/Q4_0 matrix (kernels/tiles.h) with k % 128 == 0: its
// 16 rows into q + i·ldq (kq = k quads/4 each) and their group scales into scale + i·ldscale.
void unpack_tile_avx512(const uint8_t* tile, bool q8, int64_t k, int32_t* q, int64_t ldq, float* scale,
                        int64_t ldscale);
void to_group_acts(const Acts& a, GroupActs& g);

void dot_group_avx512(const GroupRows& r, const GroupActs& a, float* y, int64_t ldy);

// The AVX-512 prefill product in row blocks: rows per block for an [out, k] weight with the
// current thread count (~256 KiB of unpacked rows, so a block stays in L2 while all activation
// rows pass over it, and no more than a thread's share so that small outputs still split), and
// one block: rows [r, r + count) of w unpacked (per-thread buffers) and multiplied by every
// activation row, y[t·ldy + i] for row r + i.
int64_t prefill_block_rows(int64_t out, int64_t k);
// Those blocks for w, evened out within each of its row panels (TensorView::panels) so that
// none crosses a panel's edge: a block cut in two at an edge costs a pass over all activation
// rows for a sliver of rows (2% of a 0.5B prefill).
struct RowBlocks {
  int64_t part, block, per_part, count;  // rows a panel, rows a block, blocks a panel, blocks
  int64_t begin(int64_t c) const { return c / per_part * part + c % per_part * block; }
  int64_t size(int64_t c) const { return std::min(block, part - c % per_part * block); }
};
RowBlocks prefill_blocks(const TensorView& w);
void prefill_block_avx512(const TensorView& w, int64_t r, int64_t count, const GroupActs& a, float* y, int64_t ldy);

}  // namespace sputnik::qg
