#pragma once
// A non-owning view of a stored tensor (usually bytes inside a memory-mapped file).
// Shapes are in PyTorch order (outermost first), data row-major; for a weight matrix
// shape = {out_features, in_features}, and each row is whole quantization blocks.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace sputnik {

// How a matrix's rows are stored. Tiles16 (Q8_0 and Q4_0 only, see kernels/tiles.h): each run
// of 16 rows is interleaved block by block for the decode kernels, in the same bytes the 16
// rows took; rows past the last whole 16 stay row-major where they were.
enum class Layout : uint8_t { RowMajor, Tiles16 };

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;
  Layout layout = Layout::RowMajor;
  // Tiles16 only: the columns split into `panels` equal parts, each stored as a Tiles16 matrix
  // [rows, cols / panels] of its own, one after the other. A decode team's rank then streams
  // one panel of a product that it splits by columns (its share of the heads of o_proj, of the
  // MLP's inner rows of down_proj) as one contiguous region. matmul() takes such a matrix
  // whole; the kernels below it see one panel at a time (panel()).
  int panels = 1;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  // (2-D first: kernels ask once per chunk of rows, and the general form divides.)
  int64_t rows() const { return shape.size() == 2 ? shape[0] : shape.size() < 2 ? 1 : numel() / shape.back(); }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  size_t row_bytes() const { return dtype_bytes(dtype, cols()); }
  // Row r as stored blocks; for Tiles16 only rows past the tiles (row_major_from()) have one.
  const std::byte* row(int64_t r) const;
  // The first row stored row-major: 0, or for Tiles16 the rows after the last whole tile.
  int64_t row_major_from() const { return layout == Layout::Tiles16 ? rows() / 16 * 16 : 0; }
  // Rows [first, first+count) of the outermost dimension, e.g. one expert of a stacked tensor.
  // Not for Tiles16 (throws).
  TensorView slice(int64_t first, int64_t count) const;
  // Column panel p of a matrix stored in panels: a plain Tiles16 [rows, cols / panels] view.
  TensorView panel(int p) const;
  std::string shape_string() const;  // "[2048, 512]"
};

}  // namespace sputnik
