#pragma once
// Internal: ISA-specific paths of attend_causal (kernels/attention.h).
#include <cstdint>

namespace sputnik {

// One query (keys [0, keys) all visible): out[:dv] = Σ_j softmax_j(scale·q·k_j) v_j, with
// `scores` room for `keys` floats. Only on CPUs with AVX-512 (F).
void attend_one_avx512(const float* q, int64_t dk, int64_t keys, const float* k, int64_t ldk, const float* v,
                       int64_t ldv, int64_t dv, float scale, float* scores, float* out);
// attend_one_avx512 for `heads` queries (ldq apart) against the same keys and values, outputs
// ldo apart; `scores` has room for heads × keys floats. Each head's output is bit for bit the
// one attend_one_avx512 gives.
void attend_group_avx512(const float* q, int64_t ldq, int64_t heads, int64_t dk, int64_t keys, const float* k,
                         int64_t ldk, const float* v, int64_t ldv, int64_t dv, float scale, float* scores, float* out,
                         int64_t ldo);

}  // namespace sputnik
