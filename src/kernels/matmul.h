#pragma once
// The one entry point every layer uses for weight products (inference and training alike):
//   Y[n, out] = X[n, in] · W[out, in]^T   (+ nothing; biases are added by the caller)
// W may be any stored dtype (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K; also Q4_1, Q5_0, Q5_1
// through dequantization); X and Y are f32, row-major, contiguous. n = 1 is a GEMV (decode),
// n > 1 a GEMM (prefill, training). Picks the ISA path with active_isa() and splits work over
// threads (parallel_for, core/threads.h); results do not depend on the thread count.
//
// Quantized weights multiply int8-quantized activations (blocks of 32 values with an f32
// scale, like llama.cpp's Q8_0 activations) with integer dot products, unless exact mode is on.
#include <cstdint>

#include "core/tensor.h"

namespace sputnik {

void matmul(const TensorView& w, const float* x, int64_t n, float* y);

// Converts rows [row, row+count) of W to f32 (e.g. embedding lookup of quantized tables).
void dequantize_rows(const TensorView& w, int64_t row, int64_t count, float* out);

// Exact mode: quantized weights are dequantized and multiplied with the f32 activations in f32
// (no activation quantization), e.g. for `sputnik logits`. Process-wide; off by default.
void set_matmul_exact(bool exact);
bool matmul_exact();

// Row-major f32 GEMM for training: C = alpha·op(A)·op(B) + beta·C with op(A) m×k, op(B) k×n,
// op = transpose when trans_* is set (OpenBLAS sgemm, threads as set_num_threads).
void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
              int64_t ldc);

// The same product with bf16 inputs: A and B are rounded to bf16 (round to nearest even) and
// multiplied with f32 accumulation — vdpbf16ps on CPUs with AVX-512 BF16, sgemm on the rounded
// values elsewhere. For bf16 training compute with f32 master weights.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc);

}  // namespace sputnik

namespace sputnik {

// One product of a batch handed to matmul_many: y[n, w.rows()] = x[n, w.cols()] · W^T.
struct MatmulJob {
  const TensorView* w;
  const float* x;
  int64_t n;
  float* y;
};

// Runs independent products (e.g. the chosen experts' projections of one decode token, or the
// per-head MLA projections) in one parallel region instead of one per product: at decode each
// product is small, and per-product thread wake-ups and joins would cost as much as the math.
// Each y equals what matmul() writes for that job, bit for bit.
void matmul_many(const MatmulJob* jobs, size_t count);

// Rows [begin, end) of each job's product (row o of token t at y[t·w.rows() + o]; the other rows
// of y are left alone), computed on the calling thread alone: no threads, no team collectives.
// For a decode team's rank that owns those rows, e.g. the q/k/v rows of the attention heads it
// runs, which then need no barrier. Each row equals what matmul() writes, bit for bit. Jobs must
// satisfy matmul_rows_applies(); for weights stored as Tiles16, begin and end are multiples of
// 16 (or end = rows).
struct RowRange {
  int64_t begin, end;
};
bool matmul_rows_applies(const MatmulJob& job);
void matmul_rows(const MatmulJob* jobs, const RowRange* rows, size_t count);

}  // namespace sputnik

namespace sputnik {

// h[n, out] = silu(x·gateᵀ) ⊙ (x·upᵀ), gate and up of the same shape (a SwiGLU MLP's first
// half, without biases). On the AVX-512 integer prefill path the activations are quantized once
// for both, and each block of rows of gate and up is unpacked once and multiplied by all n rows,
// its products combined into h at once: there is no n × out intermediate, so a caller can take
// more tokens per call for the same memory (and unpack the weights fewer times). Elsewhere it
// is the two products (one matmul_many) and swiglu(). Either way h equals that composition bit
// for bit.
void matmul_swiglu(const TensorView& gate, const TensorView& up, const float* x, int64_t n, float* h);

}  // namespace sputnik
