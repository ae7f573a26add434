#pragma once
// The Tiles16 layout of Q8_0 and Q4_0 weight matrices (core/tensor.h's Layout), for decode.
//
// Read row by row, a GEMV spends most of its instructions per block on scales and on sums
// across the lanes of one row, and is bound by compute, not memory (~35 GB/s a core here, in
// cache). Tiled, 16 rows advance together: one 512-bit load holds 4 bytes of each of the 16
// rows, one vpdpbusd against 4 broadcast activation bytes adds into 16 row sums, and a block's
// 16 scales are one vector (~85 GB/s a core), so decode is bound by memory bandwidth.
//
// Tile t (rows 16t..16t+15) takes the bytes the 16 rows took, block by block. Block b of the
// tile (columns 32b..32b+31) is its 16 f16 scales (32 bytes), then chunks c of 64 bytes, in
// which bytes 4i..4i+3 are row i's:
//   Q8_0: 8 chunks; chunk c holds values 4c..4c+3 as unsigned bytes q + 128 (544 bytes = 16 × 34).
//   Q4_0: 4 chunks; chunk c holds the stored bytes 4c..4c+3 (low nibbles: values 4c..4c+3, high
//         nibbles: values 16 + 4c..16 + 4c+3) (288 bytes = 16 × 18).
// Rows past the last whole tile stay row-major at their offsets.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace sputnik {

// Whether w can be stored as tiles: a 2-D Q8_0 or Q4_0 matrix with at least one whole tile.
bool can_tile(const TensorView& w);
// Tiles [t0, t1) of the row-major w into dst, the base of a buffer laid out like w's bytes.
void tile_rows(const TensorView& w, int64_t t0, int64_t t1, std::byte* dst);
// All of the row-major w into dst (w.nbytes, laid out like w's bytes): its tiles, then the rows
// past the last tile as they are. Returns the view of dst.
TensorView tile_into(const TensorView& w, std::byte* dst);
// Whether the row-major w can be stored in `panels` panels along `axis` (TensorView::panels): it
// can be tiled and each panel is whole tiles (rows) of whole 32-value blocks (columns).
bool can_tile_panels(const TensorView& w, int panels, TensorView::PanelAxis axis);
// All of the row-major w as `panels` panels along `axis`, each tiled like tile_into, panel p at
// dst + p · stride (0: one after the other, w.nbytes in all). Returns the view of dst.
TensorView tile_panels_into(const TensorView& w, int panels, TensorView::PanelAxis axis, std::byte* dst,
                            size_t stride = 0);
// Rows [row, row + count) of w, whatever its layout, as row-major stored blocks in out
// (count · row_bytes bytes).
void untile_rows(const TensorView& w, int64_t row, int64_t count, std::byte* out);
// Row r of w as stored blocks: w.row(r) where it is stored row-major, else untiled into scratch.
const std::byte* stored_row(const TensorView& w, int64_t r, std::vector<std::byte>& scratch);
// Rows [row, row + count) of w as a row-major view: w itself sliced where it is stored
// row-major, else untiled into scratch (which must outlive the view).
TensorView row_major_rows(const TensorView& w, int64_t row, int64_t count, std::vector<std::byte>& scratch);

}  // namespace sputnik
