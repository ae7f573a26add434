#include "train/precision.h"

#include "kernels/matmul.h"

namespace sputnik::train {

namespace {
thread_local bool g_bf16 = false;
}

bool bf16_compute() { return g_bf16; }

BF16Scope::BF16Scope(bool on) : previous_(g_bf16) { g_bf16 = on; }
BF16Scope::~BF16Scope() { g_bf16 = previous_; }

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (g_bf16) gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace sputnik::train
