#include "kernels/tiles.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/threads.h"

namespace sputnik {
namespace {

constexpr int64_t kTile = 16;

struct Format {
  int64_t block_bytes;  // stored bytes of one block of one row
  int chunks;           // 4-byte pieces of one block of one row
  uint32_t flip;        // xor between stored and tiled pieces
};

Format format_of(DType t) {
  if (t == DType::Q8_0) return {34, 8, 0x80808080u};
  SPUTNIK_CHECK(t == DType::Q4_0);
  return {18, 4, 0u};
}

}  // namespace

bool can_tile(const TensorView& w) {
  return (w.dtype == DType::Q8_0 || w.dtype == DType::Q4_0) && w.shape.size() == 2 && w.rows() >= kTile &&
         w.cols() % 32 == 0 && w.layout == Layout::RowMajor;
}

void tile_rows(const TensorView& w, int64_t t0, int64_t t1, std::byte* dst) {
  SPUTNIK_CHECK(can_tile(w) && t0 >= 0 && t1 <= w.rows() / kTile);
  const Format f = format_of(w.dtype);
  const int64_t nb = w.cols() / 32, tile_block = kTile * f.block_bytes;
  const size_t row_bytes = w.row_bytes();
  for (int64_t t = t0; t < t1; ++t) {
    const auto* src = reinterpret_cast<const uint8_t*>(w.data) + size_t(t * kTile) * row_bytes;
    auto* out = reinterpret_cast<uint8_t*>(dst) + size_t(t * kTile) * row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* blk = out + b * tile_block;
      for (int64_t i = 0; i < kTile; ++i) {
        const uint8_t* s = src + size_t(i) * row_bytes + b * f.block_bytes;
        std::memcpy(blk + 2 * i, s, 2);
        for (int c = 0; c < f.chunks; ++c) {
          uint32_t v;
          std::memcpy(&v, s + 2 + 4 * c, 4);
          v ^= f.flip;
          std::memcpy(blk + 32 + 64 * c + 4 * i, &v, 4);
        }
      }
    }
  }
}

TensorView tile_into(const TensorView& w, std::byte* dst) {
  tile_rows(w, 0, w.rows() / kTile, dst);
  const size_t tail = size_t(w.rows() / kTile * kTile) * w.row_bytes();
  std::memcpy(dst + tail, w.data + tail, w.nbytes - tail);
  TensorView t = w;
  t.data = dst;
  t.layout = Layout::Tiles16;
  return t;
}

TensorView tile_panels_into(const TensorView& w, int panels, TensorView::PanelAxis axis, std::byte* dst,
                            size_t stride) {
  SPUTNIK_CHECK(can_tile_panels(w, panels, axis));
  TensorView t = w;
  t.data = dst;
  t.layout = Layout::Tiles16;
  t.panels = panels;
  t.panel_axis = axis;
  t.panel_stride = stride;
  // Each panel is whole tiles (can_tile_panels), tiled on all threads (a 32B model is GBs).
  const auto tile_all = [](const TensorView& part, std::byte* dst) {
    parallel_for(part.rows() / kTile, 1, [&](int64_t b, int64_t e) { tile_rows(part, b, e, dst); });
  };
  if (axis == TensorView::PanelAxis::Rows) {  // a row panel is a slice of the rows
    const int64_t part = w.rows() / panels;
    for (int p = 0; p < panels; ++p) tile_all(w.slice(part * p, part), const_cast<std::byte*>(t.panel(p).data));
    return t;
  }
  TensorView part = w;
  part.shape = {w.rows(), w.cols() / panels};
  part.nbytes = size_t(w.rows()) * part.row_bytes();
  const size_t part_row = part.row_bytes();
  std::vector<std::byte> rows(part.nbytes);
  part.data = rows.data();
  for (int p = 0; p < panels; ++p) {
    for (int64_t r = 0; r < w.rows(); ++r)
      std::memcpy(rows.data() + size_t(r) * part_row, w.data + size_t(r) * w.row_bytes() + size_t(p) * part_row,
                  part_row);
    tile_all(part, const_cast<std::byte*>(t.panel(p).data));
  }
  return t;
}

bool can_tile_panels(const TensorView& w, int panels, TensorView::PanelAxis axis) {
  if (!can_tile(w) || panels < 1) return false;
  if (axis == TensorView::PanelAxis::Rows) return w.rows() % (kTile * panels) == 0;
  return w.rows() % kTile == 0 && w.cols() % (int64_t(32) * panels) == 0;
}

void untile_rows(const TensorView& w, int64_t row, int64_t count, std::byte* out) {
  SPUTNIK_CHECK(row >= 0 && count >= 0 && row + count <= w.rows());
  const size_t row_bytes = w.row_bytes();
  if (w.row_panels()) {  // each panel's share of the rows, in place
    w.for_row_panel_pieces(row, row + count, [&](const TensorView& panel, int64_t b, int64_t e, int64_t at) {
      untile_rows(panel, b, e - b, out + size_t(at - row) * row_bytes);
    });
    return;
  }
  if (w.panels > 1) {  // each panel's part of the rows, then its columns into place
    const size_t part_row = w.panel(0).row_bytes();
    std::vector<std::byte> part(size_t(count) * part_row);
    for (int p = 0; p < w.panels; ++p) {
      untile_rows(w.panel(p), row, count, part.data());
      for (int64_t r = 0; r < count; ++r)
        std::memcpy(out + size_t(r) * row_bytes + size_t(p) * part_row, part.data() + size_t(r) * part_row, part_row);
    }
    return;
  }
  const int64_t split = std::min(row + count, std::max(row, w.row_major_from()));
  if (split < row + count)
    std::memcpy(out + size_t(split - row) * row_bytes, w.row(split), size_t(row + count - split) * row_bytes);
  if (split == row) return;
  const Format f = format_of(w.dtype);
  const int64_t nb = w.cols() / 32, tile_block = kTile * f.block_bytes;
  for (int64_t r = row; r < split; ++r) {
    const auto* tile = reinterpret_cast<const uint8_t*>(w.data) + size_t(r / kTile * kTile) * row_bytes;
    const int64_t i = r % kTile;
    auto* o = reinterpret_cast<uint8_t*>(out) + size_t(r - row) * row_bytes;
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = tile + b * tile_block;
      uint8_t* d = o + b * f.block_bytes;
      std::memcpy(d, blk + 2 * i, 2);
      for (int c = 0; c < f.chunks; ++c) {
        uint32_t v;
        std::memcpy(&v, blk + 32 + 64 * c + 4 * i, 4);
        v ^= f.flip;
        std::memcpy(d + 2 + 4 * c, &v, 4);
      }
    }
  }
}

const std::byte* stored_row(const TensorView& w, int64_t r, std::vector<std::byte>& scratch) {
  if (r >= w.row_major_from()) return w.row(r);
  scratch.resize(w.row_bytes());
  untile_rows(w, r, 1, scratch.data());
  return scratch.data();
}

TensorView row_major_rows(const TensorView& w, int64_t row, int64_t count, std::vector<std::byte>& scratch) {
  TensorView v;
  v.name = w.name;
  v.dtype = w.dtype;
  v.shape = {count, w.cols()};
  v.nbytes = size_t(count) * w.row_bytes();
  if (row >= w.row_major_from()) {
    v.data = w.data + size_t(row) * w.row_bytes();
    return v;
  }
  scratch.resize(v.nbytes);
  untile_rows(w, row, count, scratch.data());
  v.data = scratch.data();
  return v;
}

}  // namespace sputnik
