#include "train/precision.h"

#include <algorithm>
#include <vector>

#include "core/cpu.h"
#include "core/threads.h"
#include "kernels/matmul.h"

namespace sputnik::train {

namespace detail {
void transpose16_avx512(const float* src, int64_t lds, float* dst, int64_t ldd);  // transpose_avx512.cpp
}

namespace {

thread_local bool g_bf16 = false;

// dst [cols, rows] = src [rows, cols]ᵀ (src row stride ld), in 16×16 tiles so that both the
// reads and the writes stay within a few cache lines.
void transpose(const float* src, int64_t rows, int64_t cols, int64_t ld, float* dst) {
  constexpr int64_t kTile = 16;
  const bool avx512 = active_isa() == Isa::Avx512;
  parallel_for(cols, kTile, [&](int64_t c0, int64_t c1) {
    for (int64_t rb = 0; rb < rows; rb += kTile) {
      const int64_t re = std::min(rows, rb + kTile);
      for (int64_t cb = c0; cb < c1; cb += kTile) {
        const int64_t ce = std::min(c1, cb + kTile);
        if (avx512 && re - rb == kTile && ce - cb == kTile) {
          detail::transpose16_avx512(src + rb * ld + cb, ld, dst + cb * rows + rb, rows);
          continue;
        }
        for (int64_t r = rb; r < re; ++r)
          for (int64_t c = cb; c < ce; ++c) dst[c * rows + r] = src[r * ld + c];
      }
    }
  });
}

}  // namespace

bool bf16_compute() { return g_bf16; }

BF16Scope::BF16Scope(bool on) : previous_(g_bf16) { g_bf16 = on; }
BF16Scope::~BF16Scope() { g_bf16 = previous_; }

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!g_bf16 || m == 0 || n == 0 || k == 0) {
    gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // gemm_bf16 converts both operands to bf16 rows with K contiguous; its conversion of a
  // transposed operand goes element by element and costs as much as the product itself, so
  // operands come to it as op(A) [m, k] and op(B)ᵀ [n, k], transposed here in f32 tiles.
  thread_local std::vector<float> at, bt;
  if (trans_a) {
    at.resize(size_t(m * k));
    transpose(a, k, m, lda, at.data());
    a = at.data();
    lda = k;
  }
  if (!trans_b) {
    bt.resize(size_t(n * k));
    transpose(b, k, n, ldb, bt.data());
    b = bt.data();
    ldb = k;
  }
  gemm_bf16(false, true, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace sputnik::train
