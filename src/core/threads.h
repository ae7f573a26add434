#pragma once
// Threads: `-t N` on the CLI calls set_num_threads(N) once at start. The parallel helpers below
// run on sputnik's own pool of spinning workers (threads.cpp), not on OpenMP regions: a decode
// step of a 0.5B model is ~120 short products, and an OpenMP region's start and end cost ~3 µs
// each on this VM (the worker starting late), ~5% of a token. Inside a pool task or an OpenMP
// region the helpers run on the calling thread alone.
#include <cstdint>

namespace sputnik {

void set_num_threads(int n);  // n <= 0: all cores
int num_threads();

// Splits [0, n) into contiguous chunks over the threads; fn(begin, end) runs once per chunk.
// Chunks are multiples of `align` (except the last) so threads never share a cache line/block.
template <typename Fn>
void parallel_for(int64_t n, int64_t align, Fn&& fn);

// Runs fn(c) once for every chunk c in [0, n). Each thread starts on its own contiguous share
// and walks it in order (one sequential stream, as parallel_for); a thread that finishes early
// then takes the remaining chunks of the others. On this shared machine one core often runs
// slower than the other for a while, and a static split leaves the fast one waiting at the
// barrier (13% of decode time measured).
template <typename Fn>
void parallel_chunks(int64_t n, Fn&& fn);
// parallel_chunks(n, fn), then after(t, threads) on each thread t of the region once every chunk
// is done (a second pass over what all chunks wrote, split by thread, without a second region).
template <typename Fn, typename After>
void parallel_chunks_then(int64_t n, Fn&& fn, After&& after);

namespace detail {
// One turn of a spin-wait loop (a hint to the core that this thread only waits).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
// Runs body(ctx, t) for t in [0, threads) at once, t = 0 on the calling thread, and returns when
// all are done. threads >= 2; not from inside a task.
void run_on_pool(int threads, void (*body)(void*, int), void* ctx);
// Whether the helpers must run serially here: inside a pool task or an OpenMP region.
bool in_parallel();
// A barrier among the `threads` threads of the running pool task.
void pool_barrier(int threads);
}  // namespace detail

}  // namespace sputnik

#include "core/threads_inl.h"
