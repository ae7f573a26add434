// gemm_bf16: B packed into panels and A into rows or strips of bf16 pairs (gemm_bf16.h), then
// the AVX-512 BF16 kernel; without it, sgemm on bf16-rounded f32 copies.
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

bool bf16_hw() { return active_isa() == Isa::Avx512 && cpu_features().avx512bf16; }

float rounded(float x) { return bf16_to_f32(f32_to_bf16(x)); }

// Without the kernel: op(A) and the packed B back to f32 (bf16-rounded) for sgemm.
void gemm_rounded(bool trans_a, int64_t m, int64_t n, int64_t k0, int64_t k, float alpha, const float* a, int64_t lda,
                  const PackedB& b, float beta, float* c, int64_t ldc) {
  const int64_t pairs = (b.k + 1) / 2;
  std::vector<float> ar(size_t(m * k)), br(size_t(k * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p) ar[size_t(i * k + p)] = rounded(trans_a ? a[p * lda + i] : a[i * lda + p]);
  for (int64_t p = 0; p < k; ++p)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t kk = k0 + p;
      const uint32_t w = b.words[size_t(((j / bf::kNr) * pairs + kk / 2) * bf::kNr + j % bf::kNr)];
      br[size_t(p * n + j)] = bf16_to_f32(uint16_t(kk % 2 ? w >> 16 : w & 0xFFFF));
    }
  gemm_f32(false, false, m, n, k, alpha, ar.data(), std::max<int64_t>(k, 1), br.data(), n, beta, c, ldc);
}

}  // namespace

void pack_b_bf16(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, PackedB& out) {
  if (k < 0 || n < 0) fail("gemm_bf16: negative size {}x{}", k, n);
  const int64_t pairs = (k + 1) / 2, panels = (n + bf::kNr - 1) / bf::kNr;
  out.k = k;
  out.n = n;
  out.words.resize(size_t(panels * pairs * bf::kNr));
  uint32_t* w = out.words.data();
  if (bf16_hw()) {
    parallel_for(panels, 1, [&](int64_t q0, int64_t q1) { bf::pack_b_panels_avx512(trans_b, k, n, b, ldb, q0, q1, w); });
    return;
  }
  auto at = [&](int64_t p, int64_t j) -> uint32_t {
    if (p >= k || j >= n) return 0;
    return f32_to_bf16(trans_b ? b[j * ldb + p] : b[p * ldb + j]);
  };
  for (int64_t q = 0; q < panels; ++q)
    for (int64_t p = 0; p < pairs; ++p)
      for (int64_t jj = 0; jj < bf::kNr; ++jj) {
        const int64_t j = q * bf::kNr + jj;
        w[(q * pairs + p) * bf::kNr + jj] = at(2 * p, j) | at(2 * p + 1, j) << 16;
      }
}

void gemm_bf16_packed(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda, const PackedB& b,
                      float beta, float* c, int64_t ldc) {
  gemm_bf16_packed_part(trans_a, m, b.n, 0, b.k, alpha, a, lda, b, beta, c, ldc);
}

void gemm_bf16_packed_part(bool trans_a, int64_t m, int64_t n, int64_t k0, int64_t k, float alpha, const float* a,
                           int64_t lda, const PackedB& b, float beta, float* c, int64_t ldc) {
  if (m < 0 || n < 0 || k < 0 || n > b.n || k0 < 0 || k0 % 2 || k0 + k > b.k)
    fail("gemm_bf16: {}x{} block at row {} with K {} of a packed {}x{} operand", k, n, k0, k, b.k, b.n);
  if (m == 0 || n == 0) return;
  if (!bf16_hw()) {
    gemm_rounded(trans_a, m, n, k0, k, alpha, a, lda, b, beta, c, ldc);
    return;
  }
  using bf::kMr;
  // An odd k takes the partner row k0 + k of B into its last pair; A's zero there cancels it.
  const int64_t pairs = (k + 1) / 2, strips = (m + kMr - 1) / kMr, panels = (n + bf::kNr - 1) / bf::kNr;
  const int64_t b_pairs = (b.k + 1) / 2;
  static thread_local std::vector<uint32_t> packed_a;
  // op(A) = Aᵀ goes into strips, so that packing reads A along its rows; else rows of words.
  const int64_t stride = trans_a ? 0 : (pairs + 15) / 16 * 16;
  packed_a.resize(size_t(trans_a ? strips * pairs * kMr : m * stride));
  uint32_t* ap = packed_a.data();
  auto pack_a = [&](int64_t s0, int64_t s1) {
    if (trans_a)
      bf::pack_a_strips_avx512(m, k, a, lda, s0, s1, ap);
    else
      bf::pack_a_rows_avx512(k, a, lda, s0 * kMr, std::min(m, s1 * kMr), stride, ap);
  };
  const uint32_t* bp = b.words.data() + (k0 / 2) * bf::kNr;
  // Threads take row strips (each then reads all of B and packs only its own strips of A, in
  // the same parallel region) unless there are too few strips to share.
  if (strips >= 4 * num_threads() || strips >= panels) {
    parallel_for(strips, 1, [&](int64_t s0, int64_t s1) {
      pack_a(s0, s1);
      bf::gemm_tiles_avx512(trans_a, ap, stride, bp, b_pairs, k, n, s0 * kMr, std::min(m, s1 * kMr), 0, panels, alpha,
                            beta, c, ldc);
    });
  } else {
    parallel_for(strips, 1, pack_a);
    parallel_for(panels, 1, [&](int64_t q0, int64_t q1) {
      bf::gemm_tiles_avx512(trans_a, ap, stride, bp, b_pairs, k, n, 0, m, q0, q1, alpha, beta, c, ldc);
    });
  }
}

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
               int64_t ldc) {
  if (m < 0 || n < 0 || k < 0) fail("gemm_bf16: negative size {}x{}x{}", m, n, k);
  if (m == 0 || n == 0) return;
  if (!bf16_hw()) {
    // Same rounding of the inputs, f32 products and sums by sgemm.
    std::vector<float> ar(size_t(m * k)), br(size_t(k * n));
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) ar[size_t(i * k + p)] = rounded(trans_a ? a[p * lda + i] : a[i * lda + p]);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) br[size_t(p * n + j)] = rounded(trans_b ? b[j * ldb + p] : b[p * ldb + j]);
    gemm_f32(false, false, m, n, k, alpha, ar.data(), std::max<int64_t>(k, 1), br.data(), n, beta, c, ldc);
    return;
  }
  static thread_local PackedB packed_b;  // workers use the caller's buffer
  pack_b_bf16(trans_b, k, n, b, ldb, packed_b);
  gemm_bf16_packed(trans_a, m, alpha, a, lda, packed_b, beta, c, ldc);
}

}  // namespace sputnik
