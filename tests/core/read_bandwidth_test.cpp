// The bandwidth probe's read loop sums what it reads (so the reads cannot be skipped), on the
// ISA path this CPU takes, and the probe reports a finite positive rate.
#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/read_bandwidth.h"
#include "core/threads.h"

namespace sputnik {
namespace {

TEST(ReadBandwidth, StreamSumIsTheSum) {
  std::vector<uint64_t> words(4096);
  for (size_t i = 0; i < words.size(); ++i) words[i] = i * 0x9E3779B97F4A7C15ull;
  // 64-byte alignment for the aligned vector loads.
  auto* p = static_cast<uint64_t*>(std::aligned_alloc(64, words.size() * 8));
  std::copy(words.begin(), words.end(), p);
  for (auto [b, e] : {std::pair<int64_t, int64_t>{0, 4096}, {32, 96}, {1024, 1024}, {4064, 4096}}) {
    const uint64_t want = std::accumulate(words.begin() + b, words.begin() + e, uint64_t(0));
    EXPECT_EQ(stream_sum(p, b, e), want) << b << ".." << e;
  }
  std::free(p);
}

TEST(ReadBandwidth, ProbeMeasures) {
  set_num_threads(2);
  ReadBandwidthProbe probe(size_t(8) << 20);
  EXPECT_EQ(probe.bytes(), size_t(8) << 20);
  const double gbps = probe.measure_gbps(2);
  EXPECT_GT(gbps, 0.1);
  EXPECT_LT(gbps, 1e5);
  EXPECT_THROW(ReadBandwidthProbe(1 << 20), Error);  // less than one 2 MiB page
}

}  // namespace
}  // namespace sputnik
