#pragma once
// Internal: float-weight dot products for small n (decode, short batches): one weight row of
// F32/F16/BF16 against n activation rows, converting the weights on the fly so that only the
// stored bytes stream from memory.
#include <cstdint>

#include "core/dtype.h"

namespace sputnik::fd {

// y[t·ldy] = Σ_j w[j]·x[t·k + j] for t in [0, n).
void row_dot_scalar(DType dt, const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy);
void row_dot_avx2(DType dt, const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy);
void row_dot_avx512(DType dt, const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy);

}  // namespace sputnik::fd
