// Token shards and the data loader: validation of bad files, packing (every target token once
// per epoch), the held-out split, masks, seeded order, exact position restore, rank slices.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"
#include "shard_util.h"
#include "train/dataset.h"
#include "train/token_shard.h"

namespace sputnik::train {
namespace {

using testing::temp_dir;
using testing::write_raw;
using testing::write_shard;

// Token i of the stream is i (vocab large enough), so a window's values are its positions.
std::vector<uint32_t> iota_tokens(uint32_t n, uint32_t first = 0) {
  std::vector<uint32_t> v(n);
  for (uint32_t i = 0; i < n; ++i) v[i] = first + i;
  return v;
}

std::vector<int32_t> targets_of(const Dataset& d, int64_t w) {
  std::vector<int32_t> tok(size_t(d.seq())), tgt(size_t(d.seq()));
  d.window(w, tok.data(), tgt.data());
  return tgt;
}

TEST(TokenShard, RejectsBadFiles) {
  const std::string dir = temp_dir("shard_bad");
  write_raw<uint8_t>(dir + "/odd.bin", {1, 0, 0, 0, 2, 0});
  EXPECT_THROW(TokenShard::open(dir + "/odd.bin", 100), Error);
  try {
    TokenShard::open(dir + "/odd.bin", 100);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("odd.bin"), std::string::npos) << e.what();
  }
  write_shard(dir + "/big", {1, 2, 300});
  EXPECT_THROW(TokenShard::open(dir + "/big.bin", 100), Error);
  EXPECT_NO_THROW(TokenShard::open(dir + "/big.bin", 301));
  write_shard(dir + "/nonmono", {1, 2, 3, 4}, {0, 3, 2, 4});
  EXPECT_THROW(TokenShard::open(dir + "/nonmono.bin", 10), Error);
  write_shard(dir + "/past", {1, 2, 3, 4}, {0, 2, 5});
  EXPECT_THROW(TokenShard::open(dir + "/past.bin", 10), Error);
  write_shard(dir + "/short_idx", {1, 2, 3, 4}, {0, 2});  // last offset must be the token count
  EXPECT_THROW(TokenShard::open(dir + "/short_idx.bin", 10), Error);
  write_shard(dir + "/mask", {1, 2, 3, 4}, {}, {1, 1, 0});
  EXPECT_THROW(TokenShard::open(dir + "/mask.bin", 10), Error);
  write_raw<uint8_t>(dir + "/empty.bin", {});
  EXPECT_THROW(TokenShard::open(dir + "/empty.bin", 10), Error);
  write_raw<uint32_t>(dir + "/x.tokens", {1, 2});
  EXPECT_THROW(TokenShard::open(dir + "/x.tokens", 10), Error);
  EXPECT_THROW(TokenShard::open(dir + "/missing.bin", 10), Error);

  write_shard(dir + "/good", {1, 2, 3, 4, 5}, {0, 2, 5}, {0, 1, 1, 0, 1});
  const TokenShard s = TokenShard::open(dir + "/good.bin", 10);
  EXPECT_EQ(s.size(), 5);
  EXPECT_EQ(s.num_docs(), 2);
  EXPECT_EQ(s.token(4), 5u);
  EXPECT_FALSE(s.target_allowed(0));
  EXPECT_TRUE(s.target_allowed(1));
  EXPECT_FALSE(s.target_allowed(3));
}

TEST(Dataset, EveryTargetOnceAcrossTrainAndValWithinAnEpoch) {
  const std::string dir = temp_dir("ds_cover");
  const int64_t seq = 7, N = 1000;
  const std::string path = write_shard(dir + "/a", iota_tokens(N));
  Dataset d({path}, N, seq, 0.1, 42);
  const int64_t n = (N - 1) / seq;
  ASSERT_EQ(d.num_windows(), n);
  EXPECT_EQ(d.num_val_windows(), std::llround(0.1 * double(n)));
  std::map<int32_t, int> seen_train;
  std::set<int32_t> seen_val;
  for (int64_t g = 0; g < d.num_train_windows(); ++g) {
    std::vector<int32_t> tok(seq), tgt(seq);
    d.window(d.train_window(g), tok.data(), tgt.data());
    for (int64_t s = 0; s < seq; ++s) {
      EXPECT_EQ(tgt[size_t(s)], tok[size_t(s)] + 1);  // next-token targets
      ++seen_train[tgt[size_t(s)]];
    }
  }
  for (int64_t i = 0; i < d.num_val_windows(); ++i)
    for (int32_t t : targets_of(d, d.val_window(i))) EXPECT_TRUE(seen_val.insert(t).second);
  for (const auto& [t, count] : seen_train) {
    EXPECT_EQ(count, 1) << "target " << t;
    EXPECT_FALSE(seen_val.count(t)) << "target " << t << " is both trained on and held out";
  }
  std::set<int32_t> all(seen_val);
  for (const auto& kv : seen_train) all.insert(kv.first);
  EXPECT_EQ(int64_t(all.size()), n * seq);  // every token but the first, up to the last whole window
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), n * seq);
}

TEST(Dataset, StepsNeverServeValidationWindowsAndEpochsReshuffle) {
  const std::string dir = temp_dir("ds_epochs");
  const std::string path = write_shard(dir + "/a", iota_tokens(801));
  Dataset d({path}, 1000, 8, 0.2, 3);  // 100 windows, 20 held out
  std::set<int64_t> val;
  for (int64_t i = 0; i < d.num_val_windows(); ++i) val.insert(d.val_window(i));
  std::vector<int64_t> e0, e1;
  for (int64_t g = 0; g < 80; ++g) e0.push_back(d.train_window(g));
  for (int64_t g = 80; g < 160; ++g) e1.push_back(d.train_window(g));
  for (int64_t w : e0) EXPECT_FALSE(val.count(w));
  EXPECT_NE(e0, e1);  // a new order each epoch
  std::sort(e0.begin(), e0.end());
  std::sort(e1.begin(), e1.end());
  EXPECT_EQ(e0, e1);  // over the same windows
  EXPECT_EQ(std::adjacent_find(e0.begin(), e0.end()), e0.end());
  // next_step walks that order: 10 steps of 4 × 2 windows = 80 = one epoch.
  std::vector<int32_t> firsts;
  for (int i = 0; i < 10; ++i)
    for (const MicroBatch& mb : d.next_step(4, 2, 0, 1)) {
      ASSERT_EQ(mb.rows, 4);
      for (int64_t r = 0; r < mb.rows; ++r) firsts.push_back(mb.tokens[size_t(r * 8)]);
    }
  EXPECT_EQ(d.epoch(), 1);
  for (size_t i = 0; i < firsts.size(); ++i) EXPECT_EQ(firsts[i], int32_t(d.train_window(int64_t(i)) * 8));
}

TEST(Dataset, SeedChangesOrderButNotTheHeldOutSplit) {
  const std::string dir = temp_dir("ds_seed");
  const std::string path = write_shard(dir + "/a", iota_tokens(2001));
  Dataset a({path}, 3000, 10, 0.05, 1), b({path}, 3000, 10, 0.05, 1), c({path}, 3000, 10, 0.05, 2);
  std::vector<int64_t> oa, ob, oc;
  for (int64_t g = 0; g < 50; ++g) oa.push_back(a.train_window(g)), ob.push_back(b.train_window(g)), oc.push_back(c.train_window(g));
  EXPECT_EQ(oa, ob);
  EXPECT_NE(oa, oc);
  ASSERT_EQ(a.num_val_windows(), c.num_val_windows());
  for (int64_t i = 0; i < a.num_val_windows(); ++i) EXPECT_EQ(a.val_window(i), c.val_window(i));
  EXPECT_EQ(seeded_permutation(10, 5), seeded_permutation(10, 5));
  EXPECT_NE(seeded_permutation(10, 5), seeded_permutation(10, 6));
}

TEST(Dataset, RestoredPositionContinuesExactly) {
  const std::string dir = temp_dir("ds_pos");
  const std::string path = write_shard(dir + "/a", iota_tokens(3001));
  Dataset a({path}, 4000, 12, 0.05, 9);
  for (int i = 0; i < 37; ++i) a.next_step(3, 2, 0, 1);  // crosses an epoch boundary (237 windows)
  const int64_t pos = a.position();
  EXPECT_EQ(pos, 37 * 6);
  Dataset b({path}, 4000, 12, 0.05, 9);
  b.set_position(pos);
  for (int i = 0; i < 5; ++i) {
    const auto x = a.next_step(3, 2, 0, 1), y = b.next_step(3, 2, 0, 1);
    ASSERT_EQ(x.size(), y.size());
    for (size_t k = 0; k < x.size(); ++k) {
      EXPECT_EQ(x[k].tokens, y[k].tokens);
      EXPECT_EQ(x[k].targets, y[k].targets);
    }
  }
}

TEST(Dataset, MaskedTargetsBecomeIgnoreIndex) {
  const std::string dir = temp_dir("ds_mask");
  const int64_t N = 401;
  std::vector<uint8_t> mask(N);
  for (int64_t i = 0; i < N; ++i) mask[size_t(i)] = (i / 5) % 3 == 0 ? 1 : 0;  // "assistant" spans
  const std::string path = write_shard(dir + "/a", iota_tokens(N), {0, uint64_t(N)}, mask);
  Dataset d({path}, N, 8, 0.0, 1);
  ASSERT_TRUE(d.has_mask());
  EXPECT_EQ(d.num_val_windows(), 0);
  int64_t kept = 0, masked = 0;
  for (int64_t w = 0; w < d.num_windows(); ++w) {
    std::vector<int32_t> tok(8), tgt(8);
    d.window(w, tok.data(), tgt.data());
    for (int64_t s = 0; s < 8; ++s) {
      const int64_t pos = w * 8 + s + 1;
      EXPECT_EQ(tok[size_t(s)], pos - 1);
      if (mask[size_t(pos)]) {
        EXPECT_EQ(tgt[size_t(s)], pos);
        ++kept;
      } else {
        EXPECT_EQ(tgt[size_t(s)], -100);
        ++masked;
      }
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(masked, kept);
}

TEST(Dataset, ShardsFormOneStream) {
  const std::string dir = temp_dir("ds_multi");
  const std::string one = write_shard(dir + "/one", iota_tokens(500));
  const std::string p1 = write_shard(dir + "/p1", iota_tokens(123));
  const std::string p2 = write_shard(dir + "/p2", iota_tokens(200, 123), {}, std::vector<uint8_t>(200, 1));
  const std::string p3 = write_shard(dir + "/p3", iota_tokens(177, 323));
  Dataset a({one}, 600, 9, 0.1, 4);
  Dataset b(split_data_paths(p1 + "," + p2 + "," + p3), 600, 9, 0.1, 4);
  ASSERT_EQ(a.num_windows(), b.num_windows());
  for (int64_t w = 0; w < a.num_windows(); ++w) {
    std::vector<int32_t> t1(9), g1(9), t2(9), g2(9);
    a.window(w, t1.data(), g1.data());
    b.window(w, t2.data(), g2.data());
    EXPECT_EQ(t1, t2) << w;
    EXPECT_EQ(g1, g2) << w;
  }
  EXPECT_THROW(split_data_paths("a.bin,,b.bin"), Error);
}

TEST(Dataset, RanksSplitEachMicroBatch) {
  const std::string dir = temp_dir("ds_ranks");
  const std::string path = write_shard(dir + "/a", iota_tokens(1001));
  Dataset one({path}, 2000, 10, 0.05, 5), r0({path}, 2000, 10, 0.05, 5), r1({path}, 2000, 10, 0.05, 5);
  for (int step = 0; step < 3; ++step) {
    const auto all = one.next_step(4, 2, 0, 1), a = r0.next_step(4, 2, 0, 2), b = r1.next_step(4, 2, 1, 2);
    ASSERT_EQ(all.size(), 2u);
    for (size_t k = 0; k < 2; ++k) {
      ASSERT_EQ(a[k].rows, 2);
      std::vector<int32_t> joined = a[k].tokens;
      joined.insert(joined.end(), b[k].tokens.begin(), b[k].tokens.end());
      EXPECT_EQ(joined, all[k].tokens);
    }
  }
  EXPECT_EQ(r0.position(), one.position());
  EXPECT_THROW(r0.next_step(3, 1, 0, 2), Error);
  // Validation batches split the same way.
  const auto v = one.val_batches(4, 0, 0, 1), v0 = one.val_batches(4, 0, 0, 2), v1 = one.val_batches(4, 0, 1, 2);
  int64_t rows = 0, rows2 = 0;
  for (const auto& mb : v) rows += mb.rows;
  for (const auto* vv : {&v0, &v1})
    for (const auto& mb : *vv) rows2 += mb.rows;
  EXPECT_EQ(rows, one.num_val_windows());
  EXPECT_EQ(rows2, rows);
}

TEST(Dataset, RejectsTooLittleData) {
  const std::string dir = temp_dir("ds_small");
  const std::string path = write_shard(dir + "/a", iota_tokens(10));
  EXPECT_THROW(Dataset({path}, 100, 10, 0.0, 1), Error);  // needs seq + 1 tokens
  EXPECT_NO_THROW(Dataset({path}, 100, 9, 0.0, 1));
  EXPECT_THROW(Dataset({path}, 100, 9, 0.5, 1), Error);  // one window cannot be both
  EXPECT_THROW(Dataset({path}, 5, 4, 0.0, 1), Error);    // ids >= vocab
}

}  // namespace
}  // namespace sputnik::train
