#pragma once
// Per-thread scratch memory for the working buffers of one model operation at a time (a
// layer's attention, then its MLP). Reused across layers and calls, so multi-MiB buffers are not
// page-faulted in and zeroed again for every layer of a prefill; and shared by operations that
// never live at the same time, so the peak is the largest of them, not their sum (issue 2,
// point 7: peak RSS within 10% of weights + KV cache).
//
// One lease per thread at a time: a nested lease on the same thread would alias the buffers and
// fails a check instead. Worker threads have arenas of their own; a lambda run on them must be
// handed the caller's pointers, never take a lease of its own for the caller's data.
#include <cstddef>

namespace sputnik {

class ScratchLease {
 public:
  explicit ScratchLease(size_t floats);  // this thread's arena, grown to at least `floats`
  ~ScratchLease();
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;

  float* data() const { return data_; }
  // Consecutive pieces of the lease: take(n) returns the next n floats.
  float* take(size_t floats);

 private:
  float* data_;
  size_t size_, used_ = 0;
};

}  // namespace sputnik
