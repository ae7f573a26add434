#pragma once
// The one entry point every layer uses for weight products (inference and training alike):
//   Y[n, out] = X[n, in] · W[out, in]^T   (+ nothing; biases are added by the caller)
// W may be any stored dtype (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, ...); X and Y are f32,
// row-major, contiguous. n = 1 is a GEMV (decode), n > 1 a GEMM (prefill, training).
// Picks the ISA path with active_isa() and splits work over OpenMP threads.
#include <cstdint>

#include "core/tensor.h"

namespace sputnik {

void matmul(const TensorView& w, const float* x, int64_t n, float* y);

// Converts rows [row, row+count) of W to f32 (e.g. embedding lookup of quantized tables).
void dequantize_rows(const TensorView& w, int64_t row, int64_t count, float* out);

}  // namespace sputnik
