#include "core/threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace sputnik {
namespace {

class ParallelChunks : public ::testing::TestWithParam<int> {
 protected:
  void TearDown() override { set_num_threads(0); }
};

// Every chunk runs exactly once whatever the thread count and however the threads race for the
// leftovers (the slow-thread case makes one thread finish its share long before the other).
TEST_P(ParallelChunks, RunsEveryChunkExactlyOnce) {
  set_num_threads(GetParam());
  for (int64_t n : {0, 1, 2, 3, 7, 64, 1000}) {
    for (bool slow_first : {false, true}) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
      parallel_chunks(n, [&](int64_t c) {
        ASSERT_GE(c, 0);
        ASSERT_LT(c, n);
        if (slow_first && c == 0) {
          volatile double spin = 0;
          for (int i = 0; i < 2000000; ++i) spin = spin + 1.0;
        }
        runs[size_t(c)].fetch_add(1);
      });
      for (int64_t c = 0; c < n; ++c) EXPECT_EQ(runs[size_t(c)].load(), 1) << "n=" << n << " chunk " << c;
    }
  }
}

TEST_P(ParallelChunks, NestedCallRunsInline) {
  set_num_threads(GetParam());
  std::atomic<int64_t> sum{0};
  parallel_for(4, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) parallel_chunks(10, [&](int64_t c) { sum.fetch_add(c + 1); });
  });
  EXPECT_EQ(sum.load(), 4 * 55);
}

INSTANTIATE_TEST_SUITE_P(Threads, ParallelChunks, ::testing::Values(1, 2, 3, 8));

}  // namespace
}  // namespace sputnik
