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

// Decode for `heads` heads that share their keys and values (a GQA group, or all of MLA's
// heads), one query each at position pos: query h is row h of q (ldq apart), its output row h
// of out (ldo apart); each equals attend_causal with m = 1. The key and value rows are read
// once for the group, a block at a time, instead of once per head: at long contexts the cache,
// not the weights, is most of what a decode step reads (0.5B at 4096 tokens: 100 MB of f32
// cache, read by 7 heads per group). out may be q (each query is read before any output is
// written). Runs on the calling thread.
void attend_group_decode(const float* q, int64_t ldq, int64_t heads, int64_t pos, int64_t dk, const float* k,
                         int64_t ldk, const float* v, int64_t ldv, int64_t dv, float scale, float* out, int64_t ldo);

}  // namespace sputnik
