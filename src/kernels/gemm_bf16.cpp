// gemm_bf16: pack both operands to bf16 rows with K contiguous (handling the transposes once),
// then the AVX-512 BF16 kernel; without it, sgemm on bf16-rounded f32 copies.
#include <algorithm>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace sputnik {
namespace {

// rows × k matrix op(X) (X itself, or its transpose when `trans`) as bf16 rows of kp values.
void pack(bool trans, int64_t rows, int64_t k, int64_t kp, const float* x, int64_t ldx, std::vector<uint16_t>& out) {
  out.resize(size_t(rows * kp));
  parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    if (!trans) {
      for (int64_t r = r0; r < r1; ++r) f32_to_bf16_row(x + r * ldx, out.data() + r * kp, k);
    } else {
      // Read along X's rows (contiguous), write 16 packed rows at a time.
      for (int64_t rb = r0; rb < r1; rb += 16) {
        const int64_t re = std::min(r1, rb + 16);
        for (int64_t p = 0; p < k; ++p)
          for (int64_t r = rb; r < re; ++r) out[size_t(r * kp + p)] = f32_to_bf16(x[p * ldx + r]);
      }
    }
    for (int64_t r = r0; r < r1; ++r) std::fill(out.data() + r * kp + k, out.data() + (r + 1) * kp, uint16_t(0));
  });
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc) {
  if (m < 0 || n < 0 || k < 0) fail("gemm_bf16: negative size {}x{}x{}", m, n, k);
  if (m == 0 || n == 0) return;
  const bool hw = active_isa() == Isa::Avx512 && cpu_features().avx512bf16;
  if (k == 0 || !hw) {
    // Same rounding of the inputs, f32 products and sums by sgemm.
    std::vector<float> ar(size_t(m * k)), br(size_t(k * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) ar[size_t(i * k + p)] = bf16_to_f32(f32_to_bf16(trans_a ? a[p * lda + i] : a[i * lda + p]));
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) br[size_t(p * n + j)] = bf16_to_f32(f32_to_bf16(trans_b ? b[j * ldb + p] : b[p * ldb + j]));
    gemm_f32(false, false, m, n, k, alpha, ar.data(), std::max<int64_t>(k, 1), br.data(), n, beta, c, ldc);
    return;
  }
  const int64_t kp = (k + 31) / 32 * 32;
  static thread_local std::vector<uint16_t> ap, bp;
  std::vector<uint16_t>& apr = ap;  // workers use the caller's buffers
  std::vector<uint16_t>& bpr = bp;
  pack(trans_a, m, k, kp, a, lda, apr);
  pack(!trans_b, n, k, kp, b, ldb, bpr);  // B is stored k × n unless transposed: rows of op(B)ᵀ
  parallel_for(m, 4, [&](int64_t i0, int64_t i1) {
    bf::gemm_rows_avx512(i0, i1, n, kp, apr.data(), bpr.data(), alpha, beta, c, ldc);
  });
}

}  // namespace sputnik
