#pragma once
// Internal: the integer GEMM behind matmul() for quantized weights.
//
// Every quantized weight type is unpacked, a few rows at a time, into one canonical form:
// int8 values q with a scale per 16 values and a bias per 16 values (w = scale·q + bias), which
// covers Q8_0/Q4_0 (scale per 32), Q4_K (scale and min per 32) and Q6_K (scale per 16).
// Activations are quantized once per call to int8 in blocks of 32 with an f32 scale. Then
//   y = Σ_lanes (Σ_4 q·x)·wscale·xscale  +  Σ_groups bias·(xscale·Σ_16 x)
// where a lane is 4 consecutive values (one vpdpbusd lane). The ISA kernels compute this for
// tiles of weight rows × activation rows, so each unpacked weight row is reused across the
// whole prompt (the prefill GEMM) and activations stay in L1 across a tile of rows. The
// AVX-512 path reorders this form once more (qgemm_group.h); decode (n ≤ 4) on AVX-512 skips
// it and reads the stored blocks directly (qgemv_avx512.cpp).
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace sputnik::qg {

constexpr int64_t kChunk = 64;  // values per 512-bit vector of int8

inline int64_t padded_k(int64_t k) { return (k + kChunk - 1) / kChunk * kChunk; }
// Groups of 16 values, padded to a whole vector of 16 floats.
inline int64_t padded_groups(int64_t kp) { return (kp / 16 + 15) / 16 * 16; }

struct Acts {
  int64_t n = 0, k = 0, kp = 0, ng = 0;
  std::vector<int8_t> q;           // [n][kp]
  std::vector<float> lane_scale;   // [n][kp/4]
  std::vector<float> group_sum;    // [n][ng]  xscale·Σ q over 16 values
  // Per block of 32, for the fused GEMV kernels (qgemv_avx512.cpp); kb = kp/32.
  int64_t kb = 0;
  std::vector<float> block_scale;      // [n][kb]  xscale
  std::vector<float> block_sum;        // [n][kb]  xscale·Σ q
  std::vector<int32_t> group_neg;      // [n][kp/16] −Σ q of each 16 values
  // Per lane of 4 values, filled only for n ≤ kMaxFusedN or below AVX-512 (empty otherwise):
  // lane_scale above, and −Σ q of each 16 values in its first lane.
  std::vector<int32_t> neg_sum_lanes;  // [n][kp/4]
  // Q4_0 decode layout (n ≤ kMaxFusedN only), per group of 128 values = 4 blocks: the low 16
  // values of each block, then the high 16, matching the nibble order of the stored bytes; per
  // group 16 lanes of the block's scale and −8·Σq of each block in its first lane. kg = k / 128.
  int64_t kg = 0;
  std::vector<int8_t> q4;        // [n][kg·128]
  std::vector<float> q4_scale;   // [n][kg·16]
  std::vector<int32_t> q4_neg;   // [n][kg·16] −8·Σq of each block in its first lane (the q − 8 offset)
  // False when only q, block_scale and group_neg were filled (ActForms::Tiles).
  bool all_forms = true;
};
// What quantize_acts fills: All, or only what the Tiles16 decode kernel reads (q, block_scale,
// group_neg), which at decode is most of the quantization's time (the sums and lane forms are
// several passes over kp values, for a product that streams each weight byte once).
enum class ActForms { Tiles, All };
void quantize_acts(const float* x, int64_t n, int64_t k, Acts& a, ActForms forms = ActForms::All);
// One row of k values (k % 32 == 0): q, the scale d of each 32 and the Σq of each 16.
void quantize_act_row_scalar(const float* x, int64_t k, int8_t* q, float* d, int32_t* sums16);
void quantize_act_row_avx512(const float* x, int64_t k, int8_t* q, float* d, int32_t* sums16);

struct Rows {
  int64_t count = 0, kp = 0, ng = 0;
  // q stored as uint8 q+128 (for u8×s8 vpdpbusd); the kernel then starts each lane at
  // −128·Σx (Acts::neg_sum_lanes) instead of zero.
  bool offset128 = false;
  bool has_bias = false;           // any bias ≠ 0 (Q4_K's mins); otherwise the bias pass is skipped
  std::vector<int8_t> q;           // [count][kp]
  std::vector<float> lane_scale;   // [count][kp/4]
  std::vector<float> bias;         // [count][ng], valid when has_bias
};
bool can_unpack(DType t);
// Rows [row, row+count) of w into r (resized as needed).
void unpack_rows(const TensorView& w, int64_t row, int64_t count, bool offset128, Rows& r);

// y[t·ldy + i] = row i of r · activation t, for t in [0, a.n), i in [0, r.count).
void dot_rows_scalar(const Rows& r, const Acts& a, float* y, int64_t ldy);
void dot_rows_avx2(const Rows& r, const Acts& a, float* y, int64_t ldy);
// (AVX-512 uses the group-major layout instead: qgemm_group.h.)

// Fused decode kernels: rows [r0, r1) of w (Q8_0, Q4_0, Q4_K or Q6_K) straight from the stored
// blocks against a.n ≤ 4 activation rows, no unpacking. False when w's dtype has none.
constexpr int64_t kMaxFusedN = 4;
// Rows per chunk of a decode product of `total_bytes` over rows of `row_bytes`: whole tiles of
// 16 rows (the cache lines of y). Forked (parallel_chunks): about 16 chunks per thread and at
// most 64 KiB (~2 µs of one core's DRAM stream): the last chunk a thread takes is what the other
// may wait for at the region's end, and the output head alone is 77–145 MB. In a decode team
// (team_chunks): about 4 per rank, at most 1 MiB.
int64_t decode_chunk_rows(int64_t total_bytes, int64_t row_bytes);
// For Tiles16 weights (kernels/tiles.h), r0 and r1 are multiples of 16 or r1 = w.rows().
bool gemv_avx512(const TensorView& w, int64_t r0, int64_t r1, const Acts& a, float* y, int64_t ldy);
// Whether gemv_avx512 serves w at n activation rows on this CPU: AVX-512, 1 ≤ n ≤ kMaxFusedN, a
// 2-D quantized matrix with data for its shape, rows of whole 32-value blocks (K-quants: 256).
// (Exact mode, kernels/matmul.h, is the callers' to check.)
bool gemv_applies(const TensorView& w, int64_t n);
// Whether gemv_avx512 reads every row of w from tiles at n activation rows, so that ActForms::Tiles
// suffices (gemv_applies, and Tiles16 with no row-major tail).
bool gemv_reads_tiles_only(const TensorView& w, int64_t n);
// Tiles [t0, t1) of a Tiles16 Q8_0 or Q4_0 w: rows 16·t0 .. 16·t1 (qgemv_tiles_avx512.cpp).
void gemv_tiles_avx512(const TensorView& w, int64_t t0, int64_t t1, const Acts& a, float* y, int64_t ldy);

}  // namespace sputnik::qg
