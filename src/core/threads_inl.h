#pragma once
#include <omp.h>

#include <algorithm>
#include <atomic>

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

template <typename Fn>
void parallel_chunks(int64_t n, Fn&& fn) {
  if (n <= 0) return;
  const int threads = int(std::min<int64_t>(n, omp_get_max_threads()));
  if (threads <= 1 || omp_in_parallel()) {
    for (int64_t c = 0; c < n; ++c) fn(c);
    return;
  }
  // One cache line per thread's cursor so that claiming a chunk does not bounce a shared line.
  struct alignas(64) Cursor {
    std::atomic<int64_t> next;
    int64_t end;
  };
  Cursor cursors[64];
  const int used = std::min(threads, 64);
  for (int t = 0; t < used; ++t) {
    cursors[t].next.store(n * t / used, std::memory_order_relaxed);
    cursors[t].end = n * (t + 1) / used;
  }
#pragma omp parallel num_threads(used)
  {
    const int self = omp_get_thread_num();
    for (int i = 0; i < used; ++i) {
      Cursor& cur = cursors[(self + i) % used];
      for (int64_t c; (c = cur.next.fetch_add(1, std::memory_order_relaxed)) < cur.end;) fn(c);
    }
  }
}

}  // namespace sputnik
