// The token shard writer: files read back byte by byte here (not through any reader of ours).
#include "train/token_shard_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "core/error.h"

namespace sputnik {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f) << path;
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Little-endian words decoded by hand, so the test does not share the writer's assumptions.
uint64_t le(const std::string& bytes, size_t offset, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | uint8_t(bytes.at(offset + size_t(i)));
  return v;
}

class ShardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sputnik_shard_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST(ShardSibling, ReplacesBinOrAppends) {
  EXPECT_EQ(shard_sibling("a/b/train.bin", ".idx"), "a/b/train.idx");
  EXPECT_EQ(shard_sibling("train", ".idx"), "train.idx");
  EXPECT_EQ(shard_sibling("x.bin.bin", ".json"), "x.bin.json");
}

TEST_F(ShardTest, RoundTripWithMask) {
  const std::vector<std::vector<uint32_t>> docs = {{1, 2, 3}, {0xFFFFFFFFu, 151645}, {}, {7}};
  const std::vector<std::vector<uint8_t>> masks = {{0, 1, 1}, {1, 0}, {}, {1}};
  {
    TokenShardWriter w(path("s.bin"), true);
    for (size_t i = 0; i < docs.size(); ++i) w.add_document(docs[i], masks[i]);
    EXPECT_EQ(w.n_docs(), 4u);
    EXPECT_EQ(w.n_tokens(), 6u);
    // Nothing is visible under the final names before finish().
    EXPECT_FALSE(fs::exists(path("s.bin")));
    w.finish({{"tokenizer", "test"}, {"vocab_size", 151936}});
  }
  const std::string bin = read_bytes(path("s.bin"));
  const std::string idx = read_bytes(path("s.idx"));
  const std::string mask = read_bytes(path("s.mask"));
  ASSERT_EQ(bin.size(), 6u * 4);
  ASSERT_EQ(idx.size(), 5u * 8);
  ASSERT_EQ(mask.size(), 6u);
  const std::vector<uint64_t> want_ids = {1, 2, 3, 0xFFFFFFFFu, 151645, 7};
  for (size_t i = 0; i < want_ids.size(); ++i) EXPECT_EQ(le(bin, i * 4, 4), want_ids[i]) << i;
  const std::vector<uint64_t> want_offsets = {0, 3, 5, 5, 6};
  for (size_t i = 0; i < want_offsets.size(); ++i) EXPECT_EQ(le(idx, i * 8, 8), want_offsets[i]) << i;
  EXPECT_EQ(mask, std::string("\0\1\1\1\0\1", 6));

  const auto meta = nlohmann::json::parse(read_bytes(path("s.json")));
  EXPECT_EQ(meta["n_docs"], 4);
  EXPECT_EQ(meta["n_tokens"], 6);
  EXPECT_EQ(meta["sft"], true);
  EXPECT_EQ(meta["tokenizer"], "test");
  EXPECT_EQ(meta["vocab_size"], 151936);
  EXPECT_EQ(meta["files"]["mask"], "s.mask");
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_NE(e.path().extension(), ".tmp") << e.path();
}

TEST_F(ShardTest, PlainShardHasNoMaskAndRemovesAStaleOne) {
  {
    std::ofstream stale(path("p.mask"));
    stale << "old";
  }
  TokenShardWriter w(path("p.bin"), false);
  const std::vector<uint32_t> a = {5, 6};
  w.add_document(a);
  w.finish(nullptr);
  EXPECT_FALSE(fs::exists(path("p.mask")));
  EXPECT_EQ(read_bytes(path("p.bin")).size(), 8u);
  EXPECT_EQ(nlohmann::json::parse(read_bytes(path("p.json")))["sft"], false);
}

TEST_F(ShardTest, MaskMismatchesAreErrors) {
  TokenShardWriter masked(path("m.bin"), true);
  const std::vector<uint32_t> t = {1, 2};
  const std::vector<uint8_t> short_mask = {1};
  EXPECT_THROW(masked.add_document(t, short_mask), Error);
  EXPECT_THROW(masked.add_document(t), Error);
  TokenShardWriter plain(path("n.bin"), false);
  const std::vector<uint8_t> m2 = {1, 1};
  EXPECT_THROW(plain.add_document(t, m2), Error);
}

TEST_F(ShardTest, AbandonedWriterLeavesNothing) {
  {
    TokenShardWriter w(path("gone.bin"), true);
    const std::vector<uint32_t> t = {1};
    const std::vector<uint8_t> m = {1};
    w.add_document(t, m);
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

TEST_F(ShardTest, MissingFolderIsAClearError) {
  try {
    TokenShardWriter w(path("nope/x.bin"), false);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

TEST_F(ShardTest, FinishTwiceIsAnError) {
  TokenShardWriter w(path("f.bin"), false);
  const std::vector<uint32_t> t = {1};
  w.add_document(t);
  w.finish(nullptr);
  EXPECT_THROW(w.finish(nullptr), Error);
  EXPECT_THROW(w.add_document(t), Error);
}

}  // namespace
}  // namespace sputnik
