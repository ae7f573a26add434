#pragma once
#include <omp.h>

#include <algorithm>

namespace sputnik {

template <typename Fn>
void parallel_for(int64_t n, int64_t align, Fn&& fn) {
  if (n <= 0) return;
  const int64_t units = (n + align - 1) / align;
  const int threads = int(std::min<int64_t>(units, omp_get_max_threads()));
  if (threads <= 1 || omp_in_parallel()) {
    fn(int64_t(0), n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int64_t begin = std::min(n, units * t / threads * align);
    const int64_t end = std::min(n, units * (t + 1) / threads * align);
    if (begin < end) fn(begin, end);
  }
}

}  // namespace sputnik
