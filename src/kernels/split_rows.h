#pragma once
// Internal: how the matmul kernels hand out row chunks of a product, inside a decode team
// (core/team.h) or not.
#include <algorithm>
#include <cstdint>

#include "core/team.h"
#include "core/threads.h"

namespace sputnik {

// Runs chunk(c, dst) for every c in [0, chunks); a chunk writes its rows of the [n, out] result
// at dst (row stride out). Outside a team dst is y and the chunks are spread by
// parallel_chunks. Inside one, the ranks split the chunks, write into the team's stage, and
// each copies the whole result into its own y once all are done.
template <typename Chunk>
void split_rows(int64_t chunks, int64_t n, int64_t out, float* y, Chunk&& chunk) {
  if (!in_team()) {
    parallel_chunks(chunks, [&](int64_t c) { chunk(c, y); });
    return;
  }
  float* stage = team_stage(size_t(n * out));
  team_chunks(chunks, [&](int64_t c) { chunk(c, stage); });
  std::copy_n(stage, n * out, y);
}

}  // namespace sputnik
