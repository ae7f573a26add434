#include "core/team.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.h"

namespace sputnik {
namespace {

class Team : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { set_num_threads(GetParam()); }
  void TearDown() override { set_num_threads(0); }
};

// Every chunk of every call runs exactly once across the ranks, calls after calls (the cursors
// carry a tag per call: a rank must never take chunks from a share set up for an earlier call).
TEST_P(Team, ChunksRunEveryChunkOnceInEveryCall) {
  std::vector<std::vector<std::atomic<int>>> runs;
  const std::vector<int64_t> sizes = {0, 1, 2, 3, 7, 64, 1000, 5, 1};
  for (int64_t n : sizes) runs.emplace_back(static_cast<size_t>(n));
  std::atomic<int> ranks{0};
  run_team_spmd(GetParam(), [&](int rank) {
    ranks.fetch_add(1);
    EXPECT_EQ(team_rank(), rank);
    EXPECT_EQ(in_team(), GetParam() > 1);
    for (int round = 0; round < 50; ++round)
      for (size_t i = 0; i < sizes.size(); ++i)
        team_chunks(sizes[i], [&](int64_t c) {
          ASSERT_GE(c, 0);
          ASSERT_LT(c, sizes[i]);
          runs[i][size_t(c)].fetch_add(1);
        });
  });
  EXPECT_EQ(ranks.load(), GetParam());
  EXPECT_FALSE(in_team());
  for (size_t i = 0; i < sizes.size(); ++i)
    for (int64_t c = 0; c < sizes[i]; ++c) EXPECT_EQ(runs[i][size_t(c)].load(), 50) << "n=" << sizes[i] << " chunk " << c;
}

// A rank held up in its own share (or late to start it) loses chunks to the other, taken from
// the back of its share.
TEST_P(Team, IdleRanksTakeChunksFromTheBackOfASlowShare) {
  if (GetParam() < 2) GTEST_SKIP() << "needs two ranks";
  const int64_t n = 64;
  std::vector<std::atomic<int>> owner(n);
  run_team_spmd(2, [&](int rank) {
    team_chunks(n, [&](int64_t c) {
      owner[size_t(c)].store(rank + 1);
      if (c == n / 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // rank 1's first
    });
  });
  for (int64_t c = 0; c < n; ++c) EXPECT_NE(owner[size_t(c)].load(), 0) << c;
  EXPECT_EQ(owner[0].load(), 1);
  EXPECT_EQ(owner[n - 1].load(), 1);  // rank 1's last went to rank 0 while rank 1 slept
  EXPECT_EQ(owner[n / 2 + 1].load(), 1);
}

// Shares rotate from call to call: in a team's second call rank 0 starts at the back half and
// rank 1 at the front (the rank that ended the first product at its end goes on at the start of
// the next, which lies right behind it).
TEST_P(Team, SharesRotateFromCallToCall) {
  if (GetParam() < 2) GTEST_SKIP() << "needs two ranks";
  const int64_t n = 64;
  // A rank that starts late may find every chunk taken (under ASan on a busy machine the other
  // can run all 64 before it wakes): a rank's first chunk waits up to 50 ms for the other rank's
  // first chunk of the same call, and the attempt is retried until both ran some in both calls.
  bool checked = false;
  for (int attempt = 0; attempt < 100 && !checked; ++attempt) {
    int64_t first[2][2] = {{-1, -1}, {-1, -1}};  // [call][rank]: the first chunk the rank ran
    std::atomic<bool> arrived[2][2] = {{false, false}, {false, false}};
    run_team_spmd(2, [&](int rank) {
      for (int call = 0; call < 2; ++call)
        team_chunks(n, [&](int64_t c) {
          if (first[call][rank] >= 0) return;
          first[call][rank] = c;
          arrived[call][rank] = true;
          const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
          while (!arrived[call][1 - rank] && std::chrono::steady_clock::now() < until) std::this_thread::yield();
        });
    });
    for (int call = 0; call < 2; ++call)
      for (int rank = 0; rank < 2; ++rank)
        if (first[call][rank] >= 0) {
          EXPECT_EQ(first[call][rank], (rank + call) % 2 * n / 2) << "call " << call << " rank " << rank;
        }
    checked = first[0][0] >= 0 && first[0][1] >= 0 && first[1][0] >= 0 && first[1][1] >= 0;
  }
  EXPECT_TRUE(checked);
}

// team_for gives each rank a contiguous share and waits for all of them; team_stage hands every
// rank the same memory, so what one rank wrote before a barrier all read after it.
TEST_P(Team, StageIsSharedAndForSplitsContiguously) {
  const int threads = GetParam();
  std::vector<int64_t> seen(size_t(threads) * 100, -1);
  run_team_spmd(threads, [&](int rank) {
    for (int round = 0; round < 20; ++round) {
      float* stage = team_stage(100 + size_t(round) * 500);  // grows along the way
      team_for(100, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) stage[i] = float(i * (round + 1) + rank * 0);
      });
      for (int64_t i = 0; i < 100; ++i) {
        ASSERT_EQ(stage[i], float(i * (round + 1))) << "rank " << rank << " round " << round;
        seen[size_t(rank * 100 + i)] = int64_t(stage[i]);
      }
      team_sync();  // nobody writes this buffer again before everyone has read it
    }
  });
  for (int r = 0; r < threads; ++r) EXPECT_EQ(seen[size_t(r * 100 + 99)], 99 * 20);
}

// team_sum adds the ranks' parts in rank order, the same floats on every rank, calls after
// calls: 1 + 1e8 rounds to 1e8 in floats, so with rank 0 holding 1, rank 1 1e8 and rank 2
// taking 1e8 away again, ((r0 + r1) + r2) is 0 and the reverse order 1.
TEST_P(Team, SumAddsThePartsInRankOrder) {
  const int threads = GetParam();
  std::vector<std::vector<float>> got(static_cast<size_t>(threads));
  run_team_spmd(threads, [&](int rank) {
    for (int round = 0; round < 10; ++round) {
      std::vector<float> part(3);
      part[0] = rank == 0 ? 1.0f : rank == 1 ? 1e8f : rank == 2 ? -1e8f : 0.5f;
      part[1] = float(rank + round);
      part[2] = float(round);
      team_sum(part.data(), 3, part.data());  // in place
      got[size_t(rank)] = part;
    }
  });
  float first = 1.0f;
  if (threads > 1) first += 1e8f;
  if (threads > 2) first += -1e8f;
  if (threads > 3) first += 0.5f;
  float second = 0;
  for (int r = 0; r < threads; ++r) second += float(r + 9);
  for (int r = 0; r < threads; ++r) {
    EXPECT_EQ(got[size_t(r)][0], first) << "rank " << r;
    EXPECT_EQ(got[size_t(r)][1], second) << "rank " << r;
    EXPECT_EQ(got[size_t(r)][2], float(9 * threads)) << "rank " << r;
  }
  if (threads == 3) {
    EXPECT_EQ(first, 0.0f);  // the order mattered: (-1e8 + 1e8) + 1 would be 1
  }
}

// An exception on one rank comes out of run_team_spmd; the others stop at their next barrier
// instead of waiting forever.
TEST_P(Team, AnExceptionOnOneRankIsRethrownAndTheOthersStop) {
  const int threads = GetParam();
  EXPECT_THROW(run_team_spmd(threads, [&](int rank) {
    team_chunks(10, [](int64_t) {});
    if (rank == threads - 1) fail("rank {} gave up", rank);
    for (int i = 0; i < 5; ++i) team_sync();
  }), Error);
  // The pool and the team work again afterwards.
  std::atomic<int> sum{0};
  run_team_spmd(threads, [&](int) { team_chunks(10, [&](int64_t c) { sum.fetch_add(int(c)); }); });
  EXPECT_EQ(sum.load(), 45);
}

TEST_P(Team, CollectivesOutsideATeamRunEverything) {
  EXPECT_FALSE(in_team());
  EXPECT_EQ(team_rank(), 0);
  EXPECT_EQ(team_size(), 1);
  std::atomic<int> sum{0};
  team_chunks(10, [&](int64_t c) { sum.fetch_add(int(c)); });
  team_for(10, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum.fetch_add(int(i));
  });
  team_sync();
  EXPECT_EQ(sum.load(), 90);
  EXPECT_NE(team_stage(16), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Threads, Team, ::testing::Values(1, 2, 3, 4));

}  // namespace
}  // namespace sputnik
