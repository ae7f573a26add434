#pragma once
// Token embedding lookup. Layout: tokens[T] (T = batch·seq), table[V, C], out[T, C].
// Like every backward in src/train, the backward *adds* into its gradient buffers, so a tensor
// used twice (tied embedding and head) simply accumulates both contributions.
#include <cstdint>

namespace sputnik::train {

// Throws Error when a token id is outside [0, V).
void embedding_forward(float* out, const int32_t* tokens, const float* table, int64_t T, int64_t V,
                       int64_t C);
// dtable[tokens[t], :] += dout[t, :]
void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t T, int64_t C);

}  // namespace sputnik::train
