#pragma once
// Small helpers to bind checkpoint tensors to the pieces of a transformer block.
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/weight_store.h"

namespace sputnik {

// A whole (small) tensor as f32: norm weights, biases, router biases.
std::vector<float> tensor_to_f32(const TensorView& t);

// y[n, out] = x[n, in] · W^T + b.  The weight stays in its stored dtype.
struct Linear {
  TensorView w;
  std::vector<float> bias;  // empty: none
  // w's column panels as plain matrices when it is stored so (models/decode_panels.h), made once
  // at load: a decode team's rank multiplies its own every token.
  std::vector<TensorView> panels;
  int64_t in() const { return w.cols(); }
  int64_t out() const { return w.rows(); }
  void operator()(const float* x, int64_t n, float* y) const;
};

// Loads "<prefix>.weight" [out, in] (and "<prefix>.bias" [out] when present).
Linear load_linear(const WeightStore& ws, const std::string& prefix, int64_t out, int64_t in);
// Loads a 1-D tensor of `n` values as f32.
std::vector<float> load_vector(const WeightStore& ws, const std::string& name, int64_t n);

// A view of a tensor as a 2-D [rows, cols] matrix (e.g. one head of a 3-D tensor).
TensorView as_matrix(TensorView t, int64_t rows, int64_t cols);

}  // namespace sputnik
