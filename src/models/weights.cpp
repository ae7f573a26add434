#include "models/weights.h"

#include "core/error.h"
#include "kernels/matmul.h"

namespace sputnik {

std::vector<float> tensor_to_f32(const TensorView& t) {
  std::vector<float> out(size_t(t.numel()));
  if (t.numel() == 0) return out;
  TensorView flat = as_matrix(t, 1, t.numel());
  dequantize_rows(flat, 0, 1, out.data());
  return out;
}

void Linear::operator()(const float* x, int64_t n, float* y) const {
  matmul(w, x, n, y);
  if (bias.empty()) return;
  const int64_t o = out();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < o; ++i) y[t * o + i] += bias[size_t(i)];
}

Linear load_linear(const WeightStore& ws, const std::string& prefix, int64_t out, int64_t in) {
  Linear l;
  l.w = ws.get(prefix + ".weight", {out, in});
  if (const TensorView* b = ws.find(prefix + ".bias")) {
    if (b->shape != std::vector<int64_t>{out})
      fail("{}: tensor '{}' has shape {}, expected [{}]", ws.source, b->name, b->shape_string(), out);
    l.bias = tensor_to_f32(*b);
  }
  if (l.w.column_panels())
    for (int p = 0; p < l.w.panels; ++p) l.panels.push_back(l.w.panel(p));
  return l;
}

std::vector<float> load_vector(const WeightStore& ws, const std::string& name, int64_t n) {
  return tensor_to_f32(ws.get(name, {n}));
}

TensorView as_matrix(TensorView t, int64_t rows, int64_t cols) {
  if (rows * cols != t.numel())
    fail("tensor '{}' of shape {} cannot be viewed as [{}, {}]", t.name, t.shape_string(), rows, cols);
  if (t.layout != Layout::RowMajor && (rows != t.rows() || cols != t.cols()))
    fail("tensor '{}' is stored in tiles of its rows and cannot be viewed as [{}, {}]", t.name, rows, cols);
  t.shape = {rows, cols};
  return t;
}

}  // namespace sputnik
