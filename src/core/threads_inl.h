#pragma once
#include <algorithm>
#include <atomic>

namespace sputnik {

namespace detail {

// Calls a callable (the caller's lambda, on its stack) as run_on_pool's body.
template <typename Body>
void run_body(void* ctx, int t) {
  (*static_cast<Body*>(ctx))(t);
}

template <typename Body>
void run_team(int threads, Body& body) {
  run_on_pool(threads, &run_body<Body>, &body);
}

}  // namespace detail

template <typename Fn>
void parallel_for(int64_t n, int64_t align, Fn&& fn) {
  if (n <= 0) return;
  const int64_t units = (n + align - 1) / align;
  const int threads = int(std::min<int64_t>(units, num_threads()));
  if (threads <= 1 || detail::in_parallel()) {
    fn(int64_t(0), n);
    return;
  }
  auto body = [&](int t) {
    const int64_t begin = std::min(n, units * t / threads * align);
    const int64_t end = std::min(n, units * (t + 1) / threads * align);
    if (begin < end) fn(begin, end);
  };
  detail::run_team(threads, body);
}

namespace detail {

// One cache line per thread's cursor so that claiming a chunk does not bounce a shared line.
struct alignas(64) ChunkCursor {
  std::atomic<int64_t> next;
  int64_t end;
};

// Thread `self` of `used` runs its own share of [0, n) in order, then takes what is left of the
// others' shares.
template <typename Fn>
void run_chunks(ChunkCursor* cursors, int self, int used, Fn& fn) {
  for (int i = 0; i < used; ++i) {
    ChunkCursor& cur = cursors[(self + i) % used];
    for (int64_t c; (c = cur.next.fetch_add(1, std::memory_order_relaxed)) < cur.end;) fn(c);
  }
}

inline int init_chunk_cursors(ChunkCursor* cursors, int64_t n, int threads) {
  const int used = std::min(threads, 64);
  for (int t = 0; t < used; ++t) {
    cursors[t].next.store(n * t / used, std::memory_order_relaxed);
    cursors[t].end = n * (t + 1) / used;
  }
  return used;
}

}  // namespace detail

template <typename Fn>
void parallel_chunks(int64_t n, Fn&& fn) {
  if (n <= 0) return;
  const int threads = int(std::min<int64_t>(n, num_threads()));
  if (threads <= 1 || detail::in_parallel()) {
    for (int64_t c = 0; c < n; ++c) fn(c);
    return;
  }
  detail::ChunkCursor cursors[64];
  const int used = detail::init_chunk_cursors(cursors, n, threads);
  auto body = [&](int t) { detail::run_chunks(cursors, t, used, fn); };
  detail::run_team(used, body);
}

template <typename Fn, typename After>
void parallel_chunks_then(int64_t n, Fn&& fn, After&& after) {
  const int threads = int(std::max<int64_t>(1, std::min<int64_t>(n, num_threads())));
  if (threads <= 1 || detail::in_parallel()) {
    for (int64_t c = 0; c < n; ++c) fn(c);
    after(0, 1);
    return;
  }
  detail::ChunkCursor cursors[64];
  const int used = detail::init_chunk_cursors(cursors, n, threads);
  auto body = [&](int t) {
    detail::run_chunks(cursors, t, used, fn);
    detail::pool_barrier(used);
    after(t, used);
  };
  detail::run_team(used, body);
}

}  // namespace sputnik
