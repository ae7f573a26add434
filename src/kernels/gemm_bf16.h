#pragma once
// The bf16 GEMM behind gemm_bf16 (matmul.h), with its B operand packable ahead of time: training
// packs each weight once per forward/backward instead of on every product (train/precision.h).
//
// Layouts, in 32-bit words that each hold a pair of bf16 values adjacent in K (low half = even k):
//  - B panels: op(B) [k, n] as ceil(n/32) panels of [ceil(k/2)][32] words; word (p, j) of panel q
//    is (B[2p][32q + j], B[2p+1][32q + j]). vdpbf16ps multiplies a panel row by one broadcast
//    word of A and adds both products into the 16 f32 lanes of column j: no horizontal sums.
//  - A rows: op(A) [m, k] as rows of words (row stride a multiple of 16 words).
//  - A strips (when op(A) is a transpose, so that packing reads memory along rows): strips of
//    kMr rows, [ceil(k/2)][kMr] words each.
// Missing rows, columns and the odd k's partner are zero.
#include <cstdint>
#include <vector>

namespace sputnik {

namespace bf {
constexpr int64_t kMr = 8;   // rows of C per register tile
constexpr int64_t kNr = 32;  // columns of C per register tile (two zmm)
}  // namespace bf

struct PackedB {
  int64_t k = 0, n = 0;
  std::vector<uint32_t> words;  // B panels
};

// op(B) [k, n] (B itself, or the transpose of an [n, k] matrix when trans_b) into panels.
void pack_b_bf16(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, PackedB& out);

// C = alpha·op(A)·B + beta·C with B packed by pack_b_bf16 (k and n from it); bf16-rounded
// inputs, f32 accumulation; beta = 0 never reads C. The same numbers as gemm_bf16.
void gemm_bf16_packed(bool trans_a, int64_t m, float alpha, const float* a, int64_t lda, const PackedB& b,
                      float beta, float* c, int64_t ldc);
// The same with a block of the packed op(B): rows [k0, k0 + k) (k0 even) and columns [0, n).
// One packing then serves products over different prefixes or suffixes of K (causal attention).
void gemm_bf16_packed_part(bool trans_a, int64_t m, int64_t n, int64_t k0, int64_t k, float alpha, const float* a,
                           int64_t lda, const PackedB& b, float beta, float* c, int64_t ldc);

namespace bf {

// AVX-512 BF16 parts (gemm_bf16_avx512.cpp); the caller checks the CPU. Packers fill a range
// of the output so that callers can split them over threads.
// B panels [q0, q1) of op(B).
void pack_b_panels_avx512(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, int64_t q0, int64_t q1,
                          uint32_t* out);
// A rows [i0, i1), row stride `stride` words.
void pack_a_rows_avx512(int64_t k, const float* a, int64_t lda, int64_t i0, int64_t i1, int64_t stride,
                        uint32_t* out);
// A strips [s0, s1) of op(A) = Xᵀ, X [k, m] with row stride ldx.
void pack_a_strips_avx512(int64_t m, int64_t k, const float* x, int64_t ldx, int64_t s0, int64_t s1,
                          uint32_t* out);
// C rows [i0, i1) (a multiple of kMr apart except at m) × panels [q0, q1), K = k. strips: A packed
// as strips (else rows of `stride` words). b: the first pair to use in panel 0; panels lie
// b_pairs pairs apart.
void gemm_tiles_avx512(bool strips, const uint32_t* a, int64_t stride, const uint32_t* b, int64_t b_pairs, int64_t k,
                       int64_t n, int64_t i0, int64_t i1, int64_t q0, int64_t q1, float alpha, float beta, float* c,
                       int64_t ldc);

}  // namespace bf
}  // namespace sputnik
