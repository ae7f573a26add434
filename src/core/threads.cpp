#include "core/threads.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace sputnik {
namespace {

// How long an idle worker spins before it sleeps: long enough to cover the serial steps between
// the products of a decode step (norms, sampling: microseconds), short enough that an idle
// server does not keep cores busy (~1 ms).
constexpr int kSpins = 1 << 15;

// The workers wait for a new task; the caller runs share 0 itself, then spins
// until the others have finished theirs. Workers that the task does not need skip it.
class Pool {
 public:
  void run(int threads, void (*body)(void*, int), void* ctx) {
    std::lock_guard<std::mutex> one_task(run_mutex_);  // two callers (server threads) take turns
    grow(threads - 1);
    body_ = body;
    ctx_ = ctx;
    remaining_.store(threads - 1, std::memory_order_relaxed);
    // The task word holds its thread count, so a worker the task does not need skips it without
    // reading body_ and ctx_, which the next task may already be rewriting. A worker it needs
    // reads them before this call can return and start another task.
    task_.store(((task_.load(std::memory_order_relaxed) >> 16) + 1) << 16 | uint64_t(threads),
                std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      wake_.notify_all();
    }
    run_share(0);
    while (remaining_.load(std::memory_order_acquire) > 0) detail::cpu_relax();
  }

  void barrier(int threads) {
    const uint64_t gen = barrier_generation_.load(std::memory_order_acquire);
    if (barrier_count_.fetch_add(1, std::memory_order_acq_rel) == threads - 1) {
      barrier_count_.store(0, std::memory_order_relaxed);
      barrier_generation_.fetch_add(1, std::memory_order_release);
    } else {
      while (barrier_generation_.load(std::memory_order_acquire) == gen) detail::cpu_relax();
    }
  }

 private:
  void run_share(int t) {
    in_task = true;
    try {
      body_(ctx_, t);
    } catch (...) {
      std::terminate();  // as an exception leaving an OpenMP region: the others share its stack
    }
    in_task = false;
  }

  void grow(int workers) {
    while (workers_started_ < workers) {
      const int index = ++workers_started_;
      // Never joined: the pool lives as long as the process.
      std::thread([this, index, seen = task_.load()] { work(index, seen); }).detach();
    }
  }

  void work(int index, uint64_t seen) {
    for (;;) {
      uint64_t task = seen;
      for (int i = 0; i < kSpins && (task = task_.load(std::memory_order_acquire)) == seen; ++i) detail::cpu_relax();
      if (task == seen) {
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        wake_.wait(lock, [&] { return (task = task_.load(std::memory_order_seq_cst)) != seen; });
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      seen = task;
      if (index < int(task & 0xFFFF)) {
        run_share(index);
        remaining_.fetch_sub(1, std::memory_order_release);
      }
    }
  }

  static thread_local bool in_task;
  friend bool detail::in_parallel();

  std::mutex run_mutex_;
  int workers_started_ = 0;
  void (*body_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<uint64_t> task_{0};  // (number << 16) | threads
  alignas(64) std::atomic<int> remaining_{0};
  alignas(64) std::atomic<int> barrier_count_{0};
  alignas(64) std::atomic<uint64_t> barrier_generation_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wake_;
};

thread_local bool Pool::in_task = false;

Pool& pool() {
  static Pool* p = new Pool;  // workers may still run at exit: never destroyed
  return *p;
}

std::atomic<int> g_threads{0};

}  // namespace

void set_num_threads(int n) {
  if (n <= 0) n = int(std::max(1u, std::thread::hardware_concurrency()));
  n = std::min(n, 4096);  // the pool's task word has 16 bits for it
  g_threads.store(n, std::memory_order_relaxed);
  omp_set_num_threads(n);  // the OpenMP loops of data preparation follow -t too
}

int num_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();  // before set_num_threads: OMP_NUM_THREADS or all cores
}

namespace detail {

void run_on_pool(int threads, void (*body)(void*, int), void* ctx) { pool().run(threads, body, ctx); }

bool in_parallel() { return Pool::in_task || omp_in_parallel(); }

void pool_barrier(int threads) { pool().barrier(threads); }

}  // namespace detail

}  // namespace sputnik
