#pragma once
// Internal: the "group-major" layout of the AVX-512 prefill GEMM. In qgemm.h's canonical form
// every 4-value lane of every vpdpbusd needs its own float scaling; here each 32-bit lane of a
// vector instead collects a whole 16-value group (one weight scale, one activation scale) over
// four vpdpbusd, so the int32 → f32 conversion and scaling run once per 256 values per row
// pair instead of once per 64.
//
// Per super-group of 256 values (16 groups), vector s (0..3) holds bytes 4s..4s+3 of each of
// the 16 groups, lane l = group l. Rows and activations are padded to whole super-groups.
#include <cstdint>
#include <vector>

#include "kernels/qgemm.h"

namespace sputnik::qg {

inline int64_t padded_k256(int64_t k) { return (k + 255) / 256 * 256; }

struct GroupRows {
  int64_t count = 0, kq = 0;
  bool has_bias = false;
  std::vector<int32_t> q;      // [count][kq/4] u8 quads (q + 128), group-major
  std::vector<float> scale;    // [count][kq/16]
  std::vector<float> bias;     // [count][kq/16]
};

struct GroupActs {
  int64_t n = 0, kq = 0;
  std::vector<int32_t> q;      // [n][kq/4] s8 quads, group-major
  std::vector<float> scale;    // [n][kq/16] xscale
  std::vector<float> gsum;     // [n][kq/16] xscale·Σx
  std::vector<int32_t> neg;    // [n][kq/16] −Σx
};

// From the canonical forms (rows unpacked with offset128).
void to_group_rows(const Rows& r, GroupRows& g);
void to_group_acts(const Acts& a, GroupActs& g);

void dot_group_avx512(const GroupRows& r, const GroupActs& a, float* y, int64_t ldy);

}  // namespace sputnik::qg
