#pragma once
// The machine's memory read bandwidth, measured from inside a process: the threads of sputnik's
// pool each sum a contiguous slice of a buffer far larger than the last-level cache. Decode is
// judged against it (issue 2, point 6); bench/bandwidth_bench.cpp reads with the same loop.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sputnik {

// Sum of words [begin, end) (end - begin a multiple of 32) with four independent accumulators, so
// that the loads are the limit; the widest vector unit the CPU has, chosen at run time.
uint64_t stream_sum(const uint64_t* words, int64_t begin, int64_t end);

class ReadBandwidthProbe {
 public:
  // Allocates `bytes` (rounded down to 2 MiB), advised to 2 MiB pages, written by the pool's
  // threads (first-touch placement).
  explicit ReadBandwidthProbe(size_t bytes = size_t(512) << 20);
  // GB/s of `passes` reads over the whole buffer on num_threads() threads.
  double measure_gbps(int passes = 1);
  size_t bytes() const { return bytes_; }

 private:
  struct Free {
    void operator()(uint64_t* p) const;
  };
  std::unique_ptr<uint64_t, Free> buffer_;
  size_t bytes_;
  uint64_t sink_ = 0;
};

}  // namespace sputnik
