// Engine semantics the server and generation loop rely on: many sequences in one batch, cache
// slots that can be truncated or share prefixes, clear errors on bad batches, and both MLA
// weight layouts. (Numeric ground truth is the PyTorch reference test.)
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/error.h"
#include "models/model.h"
#include "tiny_model.h"

using namespace sputnik;

namespace {

std::unique_ptr<Model> tiny(const nlohmann::json& config, unsigned seed = 1, bool split = false) {
  auto ws = std::make_shared<WeightStore>();
  test::make_tiny(*ws, config, seed, split);
  return load_model(ws);
}

// Logits of a whole sequence, one token per forward call, in a fresh single-slot cache.
std::vector<float> run_alone(Model& m, const std::vector<int32_t>& toks) {
  const int64_t v = m.config().vocab_size;
  KVCache cache = m.make_cache(1, 0);
  std::vector<float> out(toks.size() * size_t(v));
  Batch b;
  for (size_t p = 0; p < toks.size(); ++p) b.add(toks[p], 0, int64_t(p), true);
  m.forward(b, cache, out.data());
  return out;
}

float max_rel(const float* a, const float* b, size_t n) {
  float diff = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(a[i] - b[i]));
    scale = std::max(scale, std::fabs(b[i]));
  }
  return diff / scale;
}

class Engine : public ::testing::TestWithParam<const char*> {
 protected:
  nlohmann::json config() const {
    return std::string(GetParam()) == "qwen2" ? test::qwen2_config() : test::deepseek_config();
  }
};

TEST_P(Engine, SequencesBatchedTogetherMatchSeparateRuns) {
  auto m = tiny(config());
  const int64_t v = m->config().vocab_size;
  const std::vector<int32_t> a = {3, 14, 15, 9, 26, 5, 35}, b = {8, 9, 7, 9, 3};
  const auto ra = run_alone(*m, a), rb = run_alone(*m, b);

  // Step 1: a's first 4 and b's first 2 tokens interleaved; step 2: the rest, b before a.
  KVCache cache = m->make_cache(3, 16);
  std::vector<float> out(size_t(12 * v));
  Batch s1;
  s1.add(a[0], 2, 0, true);
  s1.add(b[0], 0, 0, true);
  s1.add(a[1], 2, 1, true);
  s1.add(a[2], 2, 2, false);  // no logits for this one
  s1.add(b[1], 0, 1, true);
  s1.add(a[3], 2, 3, true);
  m->forward(s1, cache, out.data());
  EXPECT_EQ(cache.length(2), 4);
  EXPECT_EQ(cache.length(0), 2);
  EXPECT_EQ(cache.length(1), 0);
  EXPECT_LT(max_rel(out.data() + 0 * v, ra.data() + 0 * v, size_t(v)), 1e-5);
  EXPECT_LT(max_rel(out.data() + 1 * v, rb.data() + 0 * v, size_t(v)), 1e-5);
  EXPECT_LT(max_rel(out.data() + 2 * v, ra.data() + 1 * v, size_t(v)), 1e-5);
  EXPECT_LT(max_rel(out.data() + 3 * v, rb.data() + 1 * v, size_t(v)), 1e-5);
  EXPECT_LT(max_rel(out.data() + 4 * v, ra.data() + 3 * v, size_t(v)), 1e-5);

  Batch s2;
  for (size_t p = 2; p < b.size(); ++p) s2.add(b[p], 0, int64_t(p), true);
  for (size_t p = 4; p < a.size(); ++p) s2.add(a[p], 2, int64_t(p), true);
  m->forward(s2, cache, out.data());
  for (size_t i = 0; i < b.size() - 2; ++i)
    EXPECT_LT(max_rel(out.data() + i * v, rb.data() + (i + 2) * v, size_t(v)), 1e-5) << "b pos " << i + 2;
  for (size_t i = 0; i < a.size() - 4; ++i)
    EXPECT_LT(max_rel(out.data() + (b.size() - 2 + i) * v, ra.data() + (i + 4) * v, size_t(v)), 1e-5)
        << "a pos " << i + 4;
}

TEST_P(Engine, TruncatedAndCopiedSlotsContinueLikeFreshOnes) {
  auto m = tiny(config());
  const int64_t v = m->config().vocab_size;
  const std::vector<int32_t> base = {1, 2, 3, 4, 5, 6}, other = {1, 2, 3, 40, 41};
  const auto r_other = run_alone(*m, other);
  KVCache cache = m->make_cache(2, 0);
  Batch b;
  for (size_t p = 0; p < base.size(); ++p) b.add(base[p], 0, int64_t(p), false);
  m->forward(b, cache, nullptr);
  ASSERT_EQ(cache.length(0), 6);

  // Shared prefix {1,2,3}: copy it into slot 1, truncate slot 0 to it, then diverge in both.
  cache.copy_prefix(0, 1, 3);
  cache.truncate(0, 3);
  std::vector<float> out(size_t(4 * v));
  Batch c;
  c.add(other[3], 0, 3, true);
  c.add(other[3], 1, 3, true);
  c.add(other[4], 0, 4, true);
  c.add(other[4], 1, 4, true);
  m->forward(c, cache, out.data());
  for (int i = 0; i < 4; ++i)
    EXPECT_LT(max_rel(out.data() + i * v, r_other.data() + (3 + i / 2) * v, size_t(v)), 1e-5) << i;

  cache.clear(1);
  EXPECT_EQ(cache.length(1), 0);
}

TEST_P(Engine, BadBatchesThrowAndLeaveTheCacheAlone) {
  auto m = tiny(config());
  KVCache cache = m->make_cache(2, 8);
  Batch ok;
  ok.add(1, 0, 0, false);
  m->forward(ok, cache, nullptr);

  Batch gap;  // position 2 while the slot holds 1 token
  gap.add(1, 0, 2, false);
  EXPECT_THROW(m->forward(gap, cache, nullptr), Error);
  Batch bad_token;
  bad_token.add(int32_t(m->config().vocab_size), 1, 0, false);
  EXPECT_THROW(m->forward(bad_token, cache, nullptr), Error);
  Batch bad_slot;
  bad_slot.add(1, 5, 0, false);
  EXPECT_THROW(m->forward(bad_slot, cache, nullptr), Error);
  Batch too_long;
  for (int p = 1; p < 10; ++p) too_long.add(1, 0, p, false);
  EXPECT_THROW(m->forward(too_long, cache, nullptr), Error);
  Batch no_buffer;
  no_buffer.add(1, 0, 1, true);
  EXPECT_THROW(m->forward(no_buffer, cache, nullptr), Error);
  EXPECT_EQ(cache.length(0), 1);
  EXPECT_EQ(cache.length(1), 0);

  KVCache other(1, 1, 3, 0);
  EXPECT_THROW(m->forward(ok, other, nullptr), Error);
}

INSTANTIATE_TEST_SUITE_P(Models, Engine, ::testing::Values("qwen2", "deepseek"));

TEST(Mla, SplitKvbLayoutMatchesFusedKvb) {
  auto fused = tiny(test::deepseek_config(), 7, false);
  auto split = tiny(test::deepseek_config(), 7, true);
  const std::vector<int32_t> toks = {5, 6, 7, 8, 9};
  const auto a = run_alone(*fused, toks), b = run_alone(*split, toks);
  EXPECT_LT(max_rel(a.data(), b.data(), a.size()), 1e-5);
  // Different weights must give different logits, or the comparison above proves nothing.
  auto other = tiny(test::deepseek_config(), 8, false);
  const auto c = run_alone(*other, toks);
  EXPECT_GT(max_rel(a.data(), c.data(), a.size()), 1e-2);
}

TEST(Model, KvBytesPerTokenAndStats) {
  auto m = tiny(test::deepseek_config());
  // MLA caches latent + rope key: (16 + 4) floats per layer.
  EXPECT_EQ(m->kv_bytes_per_token(), (16 + 4) * 4 * 2);
  const ModelStats s = m->stats();
  EXPECT_GT(s.total_params, s.active_params);
  // One MoE layer of 4 experts, top-2: half the routed expert weights are inactive.
  const int64_t expert = 3 * 16 * 32;
  EXPECT_EQ(s.total_params - s.active_params, 2 * expert);
  auto q = tiny(test::qwen2_config());
  EXPECT_EQ(q->kv_bytes_per_token(), 2 * 2 * 8 * 4 * 2);
  EXPECT_EQ(q->stats().total_params, q->stats().active_params);
}

}  // namespace

namespace {

// Rows a power of two apart would share a quarter of the L1 sets (models/kv_cache.h).
TEST(KVCache, RowsAreAnOddNumberOfCacheLinesApart) {
  EXPECT_EQ(KVCache::padded_stride(256), 272);  // Qwen2.5-0.5B: 1 KiB rows
  EXPECT_EQ(KVCache::padded_stride(576), 592);  // DeepSeek MLA: latent 512 + rope 64
  EXPECT_EQ(KVCache::padded_stride(16), 16);
  EXPECT_EQ(KVCache::padded_stride(20), 48);
  KVCache cache(2, 2, 256, 0);
  cache.reserve(1, 3);
  EXPECT_EQ(cache.row(1, 1, 2) - cache.row(1, 1, 0), 2 * 272);
  EXPECT_EQ(cache.bytes_per_token(), 2 * 272 * 4);
  for (int64_t i = 0; i < 3 * 272; ++i) cache.row(1, 1, 0)[i] = float(i);
  cache.set_length(1, 3);
  cache.copy_prefix(1, 0, 2);
  EXPECT_EQ(cache.length(0), 2);
  EXPECT_EQ(cache.row(1, 0, 1)[255], float(272 + 255));
}

}  // namespace
