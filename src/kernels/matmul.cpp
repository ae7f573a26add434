// Reference path: plain float weights, f32 accumulation. (Fast per-ISA paths replace this.)
#include "kernels/matmul.h"

#include <vector>

#include "core/error.h"
#include "core/threads.h"

namespace sputnik {

void dequantize_rows(const TensorView& w, int64_t row, int64_t count, float* out) {
  const int64_t cols = w.cols();
  for (int64_t r = 0; r < count; ++r) {
    const std::byte* src = w.row(row + r);
    float* dst = out + r * cols;
    switch (w.dtype) {
      case DType::F32: __builtin_memcpy(dst, src, size_t(cols) * 4); break;
      case DType::F16:
        for (int64_t c = 0; c < cols; ++c) dst[c] = f16_to_f32(reinterpret_cast<const uint16_t*>(src)[c]);
        break;
      case DType::BF16:
        for (int64_t c = 0; c < cols; ++c) dst[c] = bf16_to_f32(reinterpret_cast<const uint16_t*>(src)[c]);
        break;
      default: fail("tensor '{}': dtype {} not supported by dequantize_rows", w.name, dtype_name(w.dtype));
    }
  }
}

void matmul(const TensorView& w, const float* x, int64_t n, float* y) {
  const int64_t out = w.rows(), in = w.cols();
  parallel_for(out, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(in));
    for (int64_t o = begin; o < end; ++o) {
      dequantize_rows(w, o, 1, row.data());
      for (int64_t t = 0; t < n; ++t) {
        const float* xt = x + t * in;
        float acc = 0;
        for (int64_t i = 0; i < in; ++i) acc += row[i] * xt[i];
        y[t * out + o] = acc;
      }
    }
  });
}

}  // namespace sputnik
