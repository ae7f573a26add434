#pragma once
// Causal attention of one head for m consecutive queries of one sequence, against that
// sequence's cached keys/values. Keys and values are rows `ldk`/`ldv` floats apart, so one
// routine serves GQA (K and V halves of a cache row) and MLA's absorbed form (V = the first
// kv_lora dims of the same [latent | rope key] rows).
#include <cstdint>

namespace sputnik {

// Query i (row i of q, ldq apart) sits at position first_pos + i and sees keys [0, first_pos+i].
// out[i, :dv] (ldo apart) = sum_j softmax_j(scale * q_i·k_j) v_j. Runs on the calling thread
// (callers parallelize over heads and sequences); scores go through BLAS in query chunks, a
// single query (decode) through AVX-512 loops where the CPU has them.
void attend_causal(const float* q, int64_t ldq, int64_t m, int64_t first_pos, int64_t dk,
                   const float* k, int64_t ldk, const float* v, int64_t ldv, int64_t dv,
                   float scale, float* out, int64_t ldo);

}  // namespace sputnik
