#include "train/embedding.h"

#include <cstring>

#include "core/error.h"
#include "core/threads.h"
#include "train/grain.h"

namespace sputnik::train {

void embedding_forward(float* out, const int32_t* tokens, const float* table, int64_t T, int64_t V,
                       int64_t C) {
  for (int64_t t = 0; t < T; ++t)
    if (tokens[t] < 0 || tokens[t] >= V)
      fail("embedding: token id {} at position {} is outside the vocabulary [0, {})", tokens[t], t, V);
  parallel_for(T, row_grain(C), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t)
      std::memcpy(out + t * C, table + int64_t(tokens[t]) * C, size_t(C) * sizeof(float));
  });
}

void embedding_backward(float* dtable, const float* dout, const int32_t* tokens, int64_t T, int64_t C) {
  // Split over columns, not tokens: repeated tokens would otherwise race on the same row.
  parallel_for(C, col_grain(T), [&](int64_t b, int64_t e) {
    for (int64_t t = 0; t < T; ++t) {
      float* row = dtable + int64_t(tokens[t]) * C;
      const float* g = dout + t * C;
      for (int64_t c = b; c < e; ++c) row[c] += g[c];
    }
  });
}

}  // namespace sputnik::train
