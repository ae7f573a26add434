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

// GB/s of `passes` reads of words [0, words) (a multiple of 32, 64-byte aligned) on
// num_threads() threads, each summing a contiguous slice of whole 2 MiB pages (one stream each,
// as decode reads); the sums go into *sink so the reads cannot be optimized away.
double read_gbps(const uint64_t* data, int64_t words, int passes, uint64_t* sink);

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
