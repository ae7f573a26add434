// gemm_f32: OpenBLAS sgemm, split over our own threads (core/threads.h; each call into OpenBLAS is
// single-threaded) so that its pthread pool never competes with our spinning workers.
#include <cblas.h>

#include <mutex>

#include "core/error.h"
#include "core/threads.h"
#include "kernels/matmul.h"

extern "C" void openblas_set_num_threads(int num_threads);  // OpenBLAS's own API

namespace sputnik {
namespace {

void single_threaded_openblas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
              int64_t ldc) {
  if (m < 0 || n < 0 || k < 0) fail("gemm_f32: negative size {}x{}x{}", m, n, k);
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS would leave C alone; the empty product is beta·C
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  single_threaded_openblas();
  const auto ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
  // Split the larger of M and N into per-thread slices of whole rows/columns of C.
  if (m >= n) {
    parallel_for(m, 16, [&](int64_t i0, int64_t i1) {
      const float* ai = trans_a ? a + i0 : a + i0 * lda;
      cblas_sgemm(CblasRowMajor, ta, tb, int(i1 - i0), int(n), int(k), alpha, ai, int(lda), b, int(ldb), beta,
                  c + i0 * ldc, int(ldc));
    });
  } else {
    parallel_for(n, 16, [&](int64_t j0, int64_t j1) {
      const float* bj = trans_b ? b + j0 * ldb : b + j0;
      cblas_sgemm(CblasRowMajor, ta, tb, int(m), int(j1 - j0), int(k), alpha, a, int(lda), bj, int(ldb), beta,
                  c + j0, int(ldc));
    });
  }
}

}  // namespace sputnik
