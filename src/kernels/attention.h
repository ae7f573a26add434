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

// Asks for `rows` cache rows (ld floats apart) of `width` floats each, from `first`, to be
// brought into this core's cache, up to `max_bytes` (the first rows first). A decode step's
// attention reads cache rows that the weights streamed since the last token have evicted, at
// strides the hardware prefetcher does not follow (one head's slice of each row): fetched
// cold, 64 keys took 8.5 µs instead of 3.6. Asked for before the layer's first product, they
// arrive while it streams.
void prefetch_cache_rows(const float* first, int64_t rows, int64_t ld, int64_t width, int64_t max_bytes);

}  // namespace sputnik
