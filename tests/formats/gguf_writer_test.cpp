// The GGUF writer: byte-identical to gguf-py on the fixtures, round trips through the reader,
// and HF config <-> GGUF metadata both ways.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_config.h"
#include "formats/gguf_names.h"
#include "formats/gguf_writer.h"
#include "gguf_test_util.h"

namespace sputnik {
namespace {

using nlohmann::json;

class GgufRewrite : public testing::TestWithParam<std::string> {};

// gguf-py's files, re-written by sputnik from what sputnik read, come out byte for byte equal:
// same header, metadata encoding, tensor infos, alignment padding and data placement.
TEST_P(GgufRewrite, ByteIdenticalToGgufPy) {
  const std::string path = test::gguf_fixture(GetParam());
  const auto bytes = test::read_bytes(path);
  const GgufFile f = parse_gguf(bytes.data(), bytes.size(), path);
  GgufWriter w;
  for (const auto& [k, v] : f.kv) w.add(k, v);
  for (const GgufTensorInfo& t : f.tensors)
    w.add_tensor(t.name, t.dtype, t.shape(), bytes.data() + f.data_offset + t.offset);
  const auto out = w.to_bytes();
  ASSERT_EQ(out.size(), bytes.size());
  EXPECT_TRUE(out == bytes);
}

INSTANTIATE_TEST_SUITE_P(Files, GgufRewrite,
                         testing::Values("gguf_qwen2.gguf", "gguf_deepseek2.gguf",
                                         "gguf_deepseek2_split.gguf", "gguf_types.gguf"),
                         [](const auto& info) {
                           std::string n = info.param.substr(5, info.param.size() - 10);
                           return n;
                         });

TEST(GgufWriter, FileRoundTrip) {
  std::vector<float> a(4 * 3 * 64);
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(float(i));
  std::vector<std::byte> q(dtype_bytes(DType::Q8_0, 2 * 64));
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::byte(i * 7);

  GgufWriter w;
  w.add("general.architecture", GgufValue::str("qwen2"));
  w.add("general.alignment", GgufValue::u32(128));
  w.add("x.u8", {GgufType::U8, uint64_t(255)});
  w.add("x.i16", {GgufType::I16, int64_t(-5)});
  w.add("x.u64", GgufValue::u64(uint64_t(1) << 63));
  w.add("x.f64", {GgufType::F64, 1.0 / 3.0});
  w.add("x.f32", GgufValue::f32(0.1f));
  w.add("x.nan", GgufValue::f32(NAN));
  w.add("x.bool", GgufValue::boolean(false));
  w.add("x.empty", GgufValue::array(GgufType::I32, {}));
  w.add("x.nested", GgufValue::array(GgufType::ARRAY,
                                     {GgufValue::array(GgufType::STRING, {GgufValue::str("p q")}),
                                      GgufValue::array(GgufType::U32, {GgufValue::u32(9)})}));
  w.add_tensor("stacked", DType::F32, {4, 3, 64}, a.data());
  w.add_tensor("quant", DType::Q8_0, {2, 64}, q.data());
  int calls = 0;
  w.add_tensor("generated", DType::F16, {32}, [&](std::byte* dst) {
    ++calls;
    for (int i = 0; i < 32; ++i) {
      const uint16_t h = f32_to_f16(float(i));
      std::memcpy(dst + 2 * i, &h, 2);
    }
  });
  const std::string path = test::temp_path("roundtrip.gguf");
  w.write(path);
  EXPECT_EQ(calls, 1);

  const auto bytes = test::read_bytes(path);
  EXPECT_TRUE(bytes == w.to_bytes());
  std::remove(path.c_str());
  EXPECT_EQ(bytes.size() % 128, 0u);
  const GgufFile f = parse_gguf(bytes.data(), bytes.size(), path);
  EXPECT_EQ(f.alignment, 128u);
  ASSERT_EQ(f.kv.size(), 11u);
  EXPECT_EQ(f.find("x.u8")->as_uint(), 255u);
  EXPECT_EQ(f.find("x.u8")->type, GgufType::U8);
  EXPECT_EQ(f.find("x.i16")->as_int(), -5);
  EXPECT_EQ(f.find("x.u64")->as_uint(), uint64_t(1) << 63);
  EXPECT_EQ(f.find("x.f64")->as_double(), 1.0 / 3.0);
  EXPECT_EQ(f.find("x.f32")->as_double(), double(0.1f));
  EXPECT_TRUE(std::isnan(f.find("x.nan")->as_double()));
  EXPECT_EQ(*f.find("x.bool")->as_bool(), false);
  EXPECT_TRUE(f.find("x.empty")->as_array()->items.empty());
  EXPECT_EQ(*f.find("x.nested")->as_array()->items[0].as_array()->items[0].as_string(), "p q");
  EXPECT_EQ(f.find("x.nested")->as_array()->items[1].as_array()->elem, GgufType::U32);
  EXPECT_TRUE(gguf_metadata_json(f)["x.nan"].is_null());

  const GgufTensorInfo* s = f.find_tensor("stacked");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->ne, (std::vector<int64_t>{64, 3, 4}));
  EXPECT_EQ(s->offset % 128, 0u);
  EXPECT_EQ(std::memcmp(bytes.data() + f.data_offset + s->offset, a.data(), a.size() * 4), 0);
  const GgufTensorInfo* qt = f.find_tensor("quant");
  EXPECT_EQ(qt->dtype, DType::Q8_0);
  EXPECT_EQ(std::memcmp(bytes.data() + f.data_offset + qt->offset, q.data(), q.size()), 0);
  const GgufTensorInfo* g = f.find_tensor("generated");
  uint16_t h;
  std::memcpy(&h, bytes.data() + f.data_offset + g->offset + 2 * 31, 2);
  EXPECT_EQ(f16_to_f32(h), 31.0f);
}

// Vocabulary arrays stay in the file when parse_gguf leaves them out, and are read in place.
TEST(GgufArrays, ReadInPlaceKeptOrSkipped) {
  GgufWriter w;
  w.add("general.architecture", GgufValue::str("qwen2"));
  w.add("tokenizer.ggml.tokens", GgufValue::array(GgufType::STRING, {GgufValue::str("a"), GgufValue::str(""),
                                                                     GgufValue::str("b c")}));
  w.add("tokenizer.ggml.token_type",
        GgufValue::array(GgufType::I32, {GgufValue::i32(1), GgufValue::i32(-3), GgufValue::i32(6)}));
  w.add("x.u16", GgufValue::array(GgufType::U16, {{GgufType::U16, uint64_t(65535)}}));
  const auto bytes = w.to_bytes();
  for (const bool keep : {true, false}) {
    const GgufFile f = parse_gguf(bytes.data(), bytes.size(), "v.gguf", keep);
    const GgufArray& tokens = *f.find("tokenizer.ggml.tokens")->as_array();
    EXPECT_EQ(tokens.items.size(), keep ? 3u : 0u);
    EXPECT_EQ(gguf_string_items(tokens, bytes.data(), bytes.size(), "v.gguf"),
              (std::vector<std::string_view>{"a", "", "b c"}));
    const GgufArray& types = *f.find("tokenizer.ggml.token_type")->as_array();
    EXPECT_EQ(gguf_int_items(types, bytes.data(), bytes.size(), "v.gguf"), (std::vector<int64_t>{1, -3, 6}));
    EXPECT_EQ(gguf_int_items(*f.find("x.u16")->as_array(), bytes.data(), bytes.size(), "v.gguf"),
              std::vector<int64_t>{65535});
    // The wrong element type, or bytes that end early, are errors, not garbage.
    EXPECT_THROW(gguf_int_items(tokens, bytes.data(), bytes.size(), "v.gguf"), Error);
    EXPECT_THROW(gguf_string_items(types, bytes.data(), bytes.size(), "v.gguf"), Error);
    EXPECT_THROW(gguf_string_items(tokens, bytes.data(), tokens.offset + 12, "v.gguf"), Error);
  }
}

TEST(GgufWriter, RejectsBadTensors) {
  GgufWriter w;
  float x[64] = {};
  EXPECT_THROW(w.add_tensor("a", DType::Q4_0, {2, 48}, x), Error);  // not whole blocks
  EXPECT_THROW(w.add_tensor("b", DType::F8_E4M3, {4}, x), Error);   // no GGUF type
  EXPECT_THROW(w.add_tensor("c", DType::F32, {1, 1, 1, 1, 2}, x), Error);
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), DType::F32, {2}, x), Error);
  EXPECT_THROW(w.add("bad", {GgufType::U32, std::string("x")}), Error);  // mislabelled value
  EXPECT_THROW(w.write("/nonexistent/dir/out.gguf"), Error);
}

TEST(GgufNames, BothDirections) {
  EXPECT_EQ(gguf_to_hf_name("blk.12.attn_kv_a_mqa.weight"), "model.layers.12.self_attn.kv_a_proj_with_mqa.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.3.exp_probs_b.bias"), "model.layers.3.mlp.gate.e_score_correction_bias");
  EXPECT_EQ(gguf_to_hf_name("blk.0.ffn_down_shexp.weight"), "model.layers.0.mlp.shared_experts.down_proj.weight");
  EXPECT_EQ(gguf_to_hf_name("output.weight"), "lm_head.weight");
  EXPECT_EQ(gguf_to_hf_name("blk.01.attn_q.weight"), std::nullopt);
  EXPECT_EQ(gguf_to_hf_name("blk.x.attn_q.weight"), std::nullopt);
  EXPECT_EQ(gguf_to_hf_name("blk.1.unknown.weight"), std::nullopt);
  EXPECT_EQ(hf_to_gguf_name("model.layers.7.post_attention_layernorm.weight"), "blk.7.ffn_norm.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.7.self_attn.q_a_layernorm.weight"), "blk.7.attn_q_a_norm.weight");
  EXPECT_EQ(hf_to_gguf_name("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(hf_to_gguf_name("model.layers.0.mlp.experts.3.up_proj.weight"), std::nullopt);
  int64_t e = -1;
  auto x = parse_hf_expert_name("model.layers.5.mlp.experts.63.down_proj.weight", &e);
  ASSERT_TRUE(x);
  EXPECT_EQ(x->layer, 5);
  EXPECT_EQ(e, 63);
  EXPECT_EQ(gguf_experts_name(x->layer, x->proj), "blk.5.ffn_down_exps.weight");
  auto y = parse_gguf_experts_name("blk.2.ffn_gate_exps.weight");
  ASSERT_TRUE(y);
  EXPECT_EQ(hf_expert_name(y->layer, 0, y->proj), "model.layers.2.mlp.experts.0.gate_proj.weight");
}

// HF config -> GGUF metadata -> HF config keeps every field the models read.
GgufFile file_from(const std::vector<GgufKv>& kv, const std::string& arch) {
  GgufWriter w;
  w.add("general.architecture", GgufValue::str(arch));
  for (const auto& [k, v] : kv) w.add(k, v);
  static std::vector<std::byte> bytes;
  bytes = w.to_bytes();
  return parse_gguf(bytes.data(), bytes.size(), "config.gguf");
}

TEST(GgufConfig, Qwen2RoundTrip) {
  const json hf = json::parse(R"({
    "model_type": "qwen2", "vocab_size": 151936, "hidden_size": 896, "intermediate_size": 4864,
    "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
    "max_position_embeddings": 32768, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "tie_word_embeddings": true,
    "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}})");
  std::string arch;
  auto kv = hf_config_to_gguf(hf, "cfg", &arch);
  EXPECT_EQ(arch, "qwen2");
  ASSERT_FALSE(kv.empty());
  EXPECT_EQ(kv[0].first, "qwen2.block_count");
  const json back = gguf_config_json(file_from(kv, arch));
  for (const char* key : {"model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                          "rms_norm_eps", "rope_theta"})
    EXPECT_EQ(back[key], hf[key]) << key;
  EXPECT_EQ(back["rope_scaling"]["factor"], 4.0);
  EXPECT_EQ(back["rope_scaling"]["original_max_position_embeddings"], 32768);
}

TEST(GgufConfig, DeepSeekV3RoundTrip) {
  const json hf = json::parse(R"({
    "model_type": "deepseek_v3", "vocab_size": 129280, "hidden_size": 7168,
    "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61,
    "num_attention_heads": 128, "num_key_value_heads": 128, "n_shared_experts": 1,
    "n_routed_experts": 256, "routed_scaling_factor": 2.5, "kv_lora_rank": 512,
    "q_lora_rank": 1536, "qk_rope_head_dim": 64, "v_head_dim": 128, "qk_nope_head_dim": 128,
    "topk_method": "noaux_tc", "n_group": 1, "topk_group": 1, "num_experts_per_tok": 8,
    "first_k_dense_replace": 3, "norm_topk_prob": true, "scoring_func": "sigmoid",
    "max_position_embeddings": 163840, "rms_norm_eps": 1e-06, "rope_theta": 10000,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0,
                     "mscale_all_dim": 1.0, "original_max_position_embeddings": 4096,
                     "type": "yarn"}})");
  std::string arch;
  auto kv = hf_config_to_gguf(hf, "cfg", &arch);
  EXPECT_EQ(arch, "deepseek2");
  GgufFile f = file_from(kv, arch);
  EXPECT_EQ(f.find("deepseek2.attention.key_length")->as_uint(), 192u);
  EXPECT_EQ(f.find("deepseek2.expert_gating_func")->as_uint(), 2u);
  EXPECT_EQ(f.find("deepseek2.expert_weights_norm")->type, GgufType::BOOL);
  EXPECT_FLOAT_EQ(float(f.find("deepseek2.rope.scaling.yarn_log_multiplier")->as_double()), 0.1f);
  // The file has no exp_probs_b tensors, so the topk method cannot be told; everything else can.
  const json back = gguf_config_json(f);
  EXPECT_EQ(back["model_type"], "deepseek_v3");
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size",
                          "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
                          "n_shared_experts", "n_routed_experts", "routed_scaling_factor",
                          "kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "v_head_dim",
                          "qk_nope_head_dim", "num_experts_per_tok", "first_k_dense_replace",
                          "norm_topk_prob", "scoring_func", "max_position_embeddings",
                          "rms_norm_eps", "rope_theta", "n_group", "topk_group"})
    EXPECT_EQ(back[key], hf[key]) << key;
  for (const char* key : {"factor", "original_max_position_embeddings", "mscale", "mscale_all_dim",
                          "beta_fast", "beta_slow"})
    EXPECT_EQ(back["rope_scaling"][key], hf["rope_scaling"][key]) << key;
}

TEST(GgufConfig, DeepSeekV2LiteWithoutQLora) {
  const json hf = json::parse(R"({
    "model_type": "deepseek_v2", "vocab_size": 102400, "hidden_size": 2048,
    "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_hidden_layers": 27,
    "num_attention_heads": 16, "num_key_value_heads": 16, "n_shared_experts": 2,
    "n_routed_experts": 64, "routed_scaling_factor": 1.0, "kv_lora_rank": 512,
    "q_lora_rank": null, "qk_rope_head_dim": 64, "v_head_dim": 128, "qk_nope_head_dim": 128,
    "topk_method": "greedy", "num_experts_per_tok": 6, "first_k_dense_replace": 1,
    "norm_topk_prob": false, "scoring_func": "softmax", "max_position_embeddings": 163840,
    "rms_norm_eps": 1e-06, "rope_theta": 10000,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707,
                     "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096,
                     "type": "yarn"}})");
  std::string arch;
  auto kv = hf_config_to_gguf(hf, "cfg", &arch);
  GgufFile f = file_from(kv, arch);
  EXPECT_EQ(f.find("deepseek2.attention.q_lora_rank"), nullptr);
  EXPECT_EQ(f.find("deepseek2.expert_gating_func")->as_uint(), 1u);
  const json back = gguf_config_json(f);
  EXPECT_EQ(back["model_type"], "deepseek_v2");
  EXPECT_TRUE(back["q_lora_rank"].is_null());
  EXPECT_EQ(back["topk_method"], "greedy");
  EXPECT_EQ(back["rope_scaling"]["mscale_all_dim"], 0.707);
  EXPECT_EQ(back["rope_scaling"]["mscale"], 0.707);
}

TEST(GgufConfig, RejectsOtherModels) {
  EXPECT_THROW(hf_config_to_gguf(json::parse(R"({"model_type": "llama"})"), "cfg", nullptr), Error);
  EXPECT_THROW(hf_config_to_gguf(json::parse(R"({"model_type": "qwen2"})"), "cfg", nullptr), Error);
  EXPECT_THROW(hf_config_to_gguf(json::array(), "cfg", nullptr), Error);
}

}  // namespace
}  // namespace sputnik
