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

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  int64_t rows() const { return shape.size() < 2 ? 1 : numel() / shape.back(); }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  size_t row_bytes() const { return dtype_bytes(dtype, cols()); }
  const std::byte* row(int64_t r) const { return data + size_t(r) * row_bytes(); }
  // Rows [first, first+count) of the outermost dimension, e.g. one expert of a stacked tensor.
  TensorView slice(int64_t first, int64_t count) const;
  std::string shape_string() const;  // "[2048, 512]"
};

}  // namespace sputnik
