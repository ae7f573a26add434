// Decode steps run as a team (core/team.h, models/transformer.h) must give the logits that one
// thread gives, bit for bit: every product row, attention head and serial step is computed by
// the same code on the same inputs, only on another core. Checked with quantized (and, on
// AVX-512, tiled) weights so the team's staging of the fused GEMV, the f32 row products (the
// MoE router), the expert batches and the attention units all take part.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "core/threads.h"
#include "formats/decode_tiles.h"
#include "kernels/quant.h"
#include "models/decode_panels.h"
#include "models/model.h"
#include "models/transformer.h"
#include "tiny_model.h"

using namespace sputnik;

namespace {

nlohmann::json qwen2_wide() {
  auto c = test::qwen2_config();
  c["hidden_size"] = 64;
  c["intermediate_size"] = 128;  // 64 inner rows a rank: down_proj's panels are whole blocks
  return c;
}

nlohmann::json deepseek_wide() {
  auto c = test::deepseek_config();
  c["hidden_size"] = 64;
  // Split in halves of whole tiles and blocks: the dense MLP (64 inner rows a rank) and the shared
  // expert (32); the routed experts (top 2 of 4) go one a rank.
  c["intermediate_size"] = 128;
  c["moe_intermediate_size"] = 64;
  c["q_lora_rank"] = 32;
  c["kv_lora_rank"] = 32;
  c["qk_nope_head_dim"] = 16;
  c["qk_rope_head_dim"] = 8;
  c["v_head_dim"] = 16;
  return c;
}

// Every matrix whose rows are whole 32-value blocks becomes `dtype`; then the decode layout, with
// qwen2's layers in panels for a team of `ranks` (models/decode_panels.h).
std::unique_ptr<Model> quantized(const nlohmann::json& config, DType dtype, int ranks = 2) {
  auto ws = std::make_shared<WeightStore>();
  test::make_tiny(*ws, config, 3);
  for (const auto& name : ws->names()) {
    const TensorView& t = ws->get(name);
    if (t.shape.size() != 2 || t.shape[1] % 32 != 0 || name.find("norm") != std::string::npos ||
        name.find("mlp.gate.") != std::string::npos)
      continue;
    TensorView q = t;
    q.dtype = dtype;
    q.nbytes = dtype_bytes(dtype, t.numel());
    std::byte* dst = ws->allocate(q.nbytes);
    const size_t row = dtype_bytes(dtype, t.shape[1]);
    for (int64_t r = 0; r < t.shape[0]; ++r)
      quantize_row(dtype, reinterpret_cast<const float*>(t.data) + r * t.shape[1], dst + size_t(r) * row, t.shape[1]);
    q.data = dst;
    ws->replace(q);
  }
  tile_for_decode(*ws, [](const std::string&, uint64_t) {},
                  [ranks](const WeightStore& s, const std::string& name) { return decode_panels(s, name, ranks); });
  return load_model(ws);
}

// Logits of two sequences decoded together, one token each per step (batches of 2), after a
// first step of one token alone.
std::vector<float> decode(Model& m) {
  const int64_t v = m.config().vocab_size;
  const std::vector<int32_t> a = {3, 14, 15, 9, 26, 5, 35}, b = {8, 9, 7, 9, 3, 2, 1};
  KVCache cache = m.make_cache(2, 16);
  std::vector<float> all, out(size_t(2 * v));
  Batch first;
  first.add(a[0], 0, 0, true);
  m.forward(first, cache, out.data());
  all.insert(all.end(), out.begin(), out.begin() + v);
  for (size_t p = 1; p < a.size(); ++p) {
    Batch step;
    step.add(a[p], 0, int64_t(p), true);
    step.add(b[p - 1], 1, int64_t(p - 1), true);
    m.forward(step, cache, out.data());
    all.insert(all.end(), out.begin(), out.end());
  }
  return all;
}

// Logits of one sequence decoded token by token (a team of two then splits each attention and
// MLP block: models/decode_panels.h).
std::vector<float> decode_one(Model& m) {
  const int64_t v = m.config().vocab_size;
  const std::vector<int32_t> a = {3, 14, 15, 9, 26, 5, 35, 8, 9, 7};
  KVCache cache = m.make_cache(1, 16);
  std::vector<float> all, out(static_cast<size_t>(v));
  for (size_t p = 0; p < a.size(); ++p) {
    Batch step;
    step.add(a[p], 0, int64_t(p), true);
    m.forward(step, cache, out.data());
    all.insert(all.end(), out.begin(), out.end());
  }
  return all;
}

// decode_one on `threads` threads: its logits, and how many blocks ranks computed split.
struct Decoded {
  std::vector<float> logits;
  int64_t splits = 0;
};

Decoded decode_on(Model& m, int threads) {
  set_num_threads(threads);
  const int64_t before = decode_split_count();
  Decoded d;
  d.logits = decode_one(m);
  d.splits = decode_split_count() - before;
  set_num_threads(0);
  return d;
}

bool same_bits(const Decoded& a, const Decoded& b) {
  return a.logits.size() == b.logits.size() &&
         std::memcmp(a.logits.data(), b.logits.data(), a.logits.size() * sizeof(float)) == 0;
}

struct Case {
  const char* arch;
  DType dtype;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << dtype_name(c.dtype); }

class DecodeTeam : public ::testing::TestWithParam<Case> {};

TEST_P(DecodeTeam, MatchesOneThreadBitForBit) {
  const Case c = GetParam();
  auto m = quantized(std::string(c.arch) == "qwen2" ? qwen2_wide() : deepseek_wide(), c.dtype);
  set_num_threads(1);
  const auto one = decode(*m);
  set_num_threads(2);
  set_decode_team(false);
  const auto forked = decode(*m);
  set_decode_team(true);
  const auto team = decode(*m);
  // Three ranks split a KV head's query heads between them (the leader then writes the cache).
  set_num_threads(3);
  const auto team3 = decode(*m);
  set_num_threads(0);
  ASSERT_EQ(one.size(), team.size());
  EXPECT_EQ(0, std::memcmp(one.data(), forked.data(), one.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one.data(), team.data(), one.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one.data(), team3.data(), one.size() * sizeof(float)));
  // The steps must differ from each other, or equal outputs would prove little.
  EXPECT_NE(0, std::memcmp(team.data(), team.data() + m->config().vocab_size, m->config().vocab_size * sizeof(float)));
}

// One sequence: a team of two splits every block (qwen2's attention by KV heads, an MLP by inner
// rows, DeepSeek's MLA by heads, its MoE by shared-expert panels and whole routed experts) and
// adds the two halves' outputs in the order in which one thread adds the panels' products, so
// the logits stay bit for bit those of one thread; three ranks (panels for two) take the
// unsplit team path, also bit for bit.
TEST_P(DecodeTeam, OneSequenceMatchesOneThreadBitForBit) {
  const Case c = GetParam();
  const bool qwen2 = std::string(c.arch) == "qwen2";
  auto m = quantized(qwen2 ? qwen2_wide() : deepseek_wide(), c.dtype);
  const Decoded one = decode_on(*m, 1), team = decode_on(*m, 2), team3 = decode_on(*m, 3);
  EXPECT_TRUE(same_bits(one, team));
  EXPECT_TRUE(same_bits(one, team3));
  // 10 tokens × 2 layers × (attention + MLP or MoE) × 2 ranks, all split.
  EXPECT_EQ(team.splits, 10 * 2 * 2 * 2);
  EXPECT_EQ(team3.splits, 0);
}

// Four ranks, four KV heads: each rank one KV head and a quarter of the MLP; the four partial
// outputs are added in rank order, as one thread adds the four panels' products (with four
// addends the order shows in the bits). Two ranks on panels for four take the unsplit path.
TEST(DecodeTeamOfFour, OneSequenceMatchesOneThreadBitForBit) {
  auto c = test::qwen2_config();
  c["hidden_size"] = 128;
  c["num_attention_heads"] = 8;
  c["num_key_value_heads"] = 4;  // head_dim 16: a rank's q rows (2 heads) and k/v rows whole tiles
  c["intermediate_size"] = 256;  // 64 inner rows a rank
  auto m = quantized(c, DType::Q4_0, 4);
  const Decoded one = decode_on(*m, 1), team4 = decode_on(*m, 4), team2 = decode_on(*m, 2);
  EXPECT_TRUE(same_bits(one, team4));
  EXPECT_TRUE(same_bits(one, team2));
  EXPECT_EQ(team4.splits, 10 * 2 * 2 * 4);  // tokens × layers × blocks × ranks
  EXPECT_EQ(team2.splits, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeTeam,
                         ::testing::Values(Case{"qwen2", DType::Q4_0}, Case{"qwen2", DType::Q8_0},
                                           Case{"deepseek", DType::Q4_0}, Case{"deepseek", DType::Q8_0}),
                         [](const auto& info) {
                           return std::string(info.param.arch) + "_" + std::string(dtype_name(info.param.dtype));
                         });

}  // namespace
