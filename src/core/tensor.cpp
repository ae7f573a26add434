#include "core/tensor.h"

#include "core/error.h"

namespace sputnik {

const std::byte* TensorView::row(int64_t r) const {
  SPUTNIK_CHECK(panels == 1 && r >= row_major_from());
  return data + size_t(r) * row_bytes();
}

TensorView TensorView::slice(int64_t first, int64_t count) const {
  if (layout != Layout::RowMajor) fail("slice of tensor '{}': its rows are stored in tiles", name);
  if (shape.empty() || first < 0 || count < 0 || first + count > shape[0])
    fail("slice [{}, {}) out of range for tensor '{}' of shape {}", first, first + count, name,
         shape_string());
  const size_t outer_bytes = shape[0] == 0 ? 0 : nbytes / size_t(shape[0]);
  TensorView v = *this;
  v.shape[0] = count;
  v.data = data + size_t(first) * outer_bytes;
  v.nbytes = size_t(count) * outer_bytes;
  return v;
}

TensorView TensorView::panel(int p) const {
  const bool by_rows = panel_axis == PanelAxis::Rows;
  SPUTNIK_CHECK(shape.size() == 2 && panels >= 1 && 0 <= p && p < panels &&
                (by_rows ? rows() : cols()) % panels == 0);
  TensorView v = *this;
  v.panels = 1;
  v.panel_stride = 0;
  v.shape = by_rows ? std::vector<int64_t>{rows() / panels, cols()} : std::vector<int64_t>{rows(), cols() / panels};
  v.nbytes = size_t(v.rows()) * v.row_bytes();
  v.data = data + size_t(p) * (panel_stride ? panel_stride : v.nbytes);
  return v;
}

std::string TensorView::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace sputnik
