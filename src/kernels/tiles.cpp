#include "kernels/tiles.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

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

void untile_rows(const TensorView& w, int64_t row, int64_t count, std::byte* out) {
  SPUTNIK_CHECK(row >= 0 && count >= 0 && row + count <= w.rows());
  const size_t row_bytes = w.row_bytes();
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
