#pragma once
// A non-owning view of a stored tensor (usually bytes inside a memory-mapped file).
// Shapes are in PyTorch order (outermost first), data row-major; for a weight matrix
// shape = {out_features, in_features}, and each row is whole quantization blocks.
#include <algorithm>
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
  // Tiles16 only: the rows or the columns split into `panels` equal parts, each stored as a
  // Tiles16 matrix of its own ([rows / panels, cols] or [rows, cols / panels]), panel p at
  // data + p · panel_stride (0: one after the other). A decode team splits each block of a layer
  // the way tensor-parallel inference does (models/decode_panels.h): a rank computes its rows
  // of q/k/v and gate/up and its columns of o_proj and down_proj; stored as panels, a rank's
  // share of a whole layer is one contiguous stream (formats/decode_tiles.h lays them out so,
  // rank after rank, which is why one matrix's panels lie apart). matmul() takes such a matrix
  // whole; the kernels below it see one panel at a time (panel()).
  enum class PanelAxis : uint8_t { Rows, Cols };
  int panels = 1;
  PanelAxis panel_axis = PanelAxis::Cols;
  size_t panel_stride = 0;

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
  // Panel p of a matrix stored in panels: a plain Tiles16 view of its rows or columns.
  TensorView panel(int p) const;
  // The first row of row panel p (0 for column panels).
  int64_t panel_first_row(int p) const { return panel_axis == PanelAxis::Rows ? rows() / panels * p : 0; }
  bool row_panels() const { return panels > 1 && panel_axis == PanelAxis::Rows; }
  // Rows [begin, end) of a matrix in row panels, panel by panel: fn(panel view, its first and
  // end row of the range within the panel, that first row's index in this matrix).
  template <typename Fn>
  void for_row_panel_pieces(int64_t begin, int64_t end, Fn&& fn) const {
    const int64_t part = rows() / panels;
    for (int64_t r = begin; r < end;) {
      const int p = int(r / part);
      const int64_t stop = std::min(end, part * (p + 1));
      fn(panel(p), r - part * p, stop - part * p, r);
      r = stop;
    }
  }
  bool column_panels() const { return panels > 1 && panel_axis == PanelAxis::Cols; }
  std::string shape_string() const;  // "[2048, 512]"
};

}  // namespace sputnik
