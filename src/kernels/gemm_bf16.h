#pragma once
// Internal: the AVX-512 BF16 kernel behind gemm_bf16 (matmul.h).
#include <cstdint>

namespace sputnik::bf {

// C[i][j] = alpha·Σ_p A[i][p]·B[j][p] + beta·C[i][j] for rows [i0, i1) of C, with A (m × kp)
// and B (n × kp) packed as bf16, K contiguous and zero-padded to kp (a multiple of 32).
// beta = 0 never reads C.
void gemm_rows_avx512(int64_t i0, int64_t i1, int64_t n, int64_t kp, const uint16_t* a, const uint16_t* b,
                      float alpha, float beta, float* c, int64_t ldc);

}  // namespace sputnik::bf
