#pragma once
// Matmul precision of the training ops. TrainModel sets it for the duration of a forward/backward
// (TrainOptions::bf16) with a BF16Scope; every GEMM in src/train goes through train::gemm, which
// then runs either sgemm (f32) or gemm_bf16 (bf16-rounded inputs, f32 accumulation). Thread-local:
// the choice is made on the thread that calls the op, before any worker threads start.
#include <cstdint>

#include "kernels/gemm_bf16.h"

namespace sputnik::train {

bool bf16_compute();

class BF16Scope {
 public:
  explicit BF16Scope(bool on);
  ~BF16Scope();
  BF16Scope(const BF16Scope&) = delete;
  BF16Scope& operator=(const BF16Scope&) = delete;

 private:
  bool previous_;
};

// Row-major C = alpha·op(A)·op(B) + beta·C, as gemm_f32 (kernels/matmul.h), in the current precision.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// While one is alive, parameters do not change: gemm_weight, called on the thread that opened it,
// packs each weight operand to bf16 at its first use and reuses that packing until the scope
// ends, instead of converting the weight on every product. TrainModel holds one around each
// forward + backward (the optimizer only runs between them). Scopes nest per thread; each
// outermost scope starts from fresh packings. Scopes on different threads may overlap as long
// as they multiply different weights (different models).
class WeightPackScope {
 public:
  WeightPackScope();
  ~WeightPackScope();
  WeightPackScope(const WeightPackScope&) = delete;
  WeightPackScope& operator=(const WeightPackScope&) = delete;
};

// A B operand shared by several products over parts of its K range (attention's causal blocks
// reuse K, V, Q and dO): in bf16 mode it is packed once, at construction. op(B) is [k, n].
class GemmB {
 public:
  GemmB(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb);
  // C = alpha·op(A)·op(B)[k0 : k0 + k, 0 : n] + beta·C, as gemm (k0 even).
  void multiply(bool trans_a, int64_t m, int64_t n, int64_t k0, int64_t k, float alpha, const float* a, int64_t lda,
                float beta, float* c, int64_t ldc) const;

 private:
  bool trans_;
  const float* b_;
  int64_t ldb_;
  bool bf16_;
  PackedB packed_;
};

// gemm with B = a parameter (w, row stride ldw): the same numbers as gemm, with w's bf16 packing
// reused inside a WeightPackScope.
void gemm_weight(bool trans_a, bool trans_w, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* w, int64_t ldw, float beta, float* c, int64_t ldc);

}  // namespace sputnik::train
