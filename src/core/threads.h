#pragma once
// Threading is OpenMP. `-t N` on the CLI calls set_num_threads(N) once at start.
#include <cstdint>

namespace sputnik {

void set_num_threads(int n);  // n <= 0: all cores
int num_threads();

// Splits [0, n) into contiguous chunks over the threads; fn(begin, end) runs once per chunk.
// Chunks are multiples of `align` (except the last) so threads never share a cache line/block.
template <typename Fn>
void parallel_for(int64_t n, int64_t align, Fn&& fn);

}  // namespace sputnik

#include "core/threads_inl.h"
