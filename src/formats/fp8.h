#pragma once
// DeepSeek-V3/R1 FP8 weights: an F8_E4M3 matrix W[rows, cols] plus `<name>_scale_inv`, an
// F32 matrix of one scale per block_rows x block_cols tile (ceil-divided, so edge tiles are
// partial). The real weight is W[r, c] * scale_inv[r / block_rows, c / block_cols].
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace sputnik {

struct Fp8BlockSize {
  int64_t rows = 128;
  int64_t cols = 128;
};

// Checks that `weight` is a 2-D F8_E4M3 tensor and `scale_inv` a 2-D F32/BF16/F16 tensor of
// shape [ceil(rows / block.rows), ceil(cols / block.cols)]; throws Error naming both otherwise.
void check_fp8_pair(const TensorView& weight, const TensorView& scale_inv, Fp8BlockSize block);

// Writes rows*cols values of dtype `out_dtype` (F32 or BF16) to `out`. Multithreaded.
void dequantize_fp8_blocks(const TensorView& weight, const TensorView& scale_inv,
                           Fp8BlockSize block, DType out_dtype, std::byte* out);

}  // namespace sputnik
