// The GGUF reader against files written by llama.cpp's gguf-py (tests/formats/data, made by
// make_gguf_fixtures.py): every metadata key/type/value, every tensor's dims, type, offset and
// bytes (CRC-32 computed by Python), then the HF view load_gguf builds from them.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "gguf_test_util.h"

namespace sputnik {
namespace {

using nlohmann::json;
using test::gguf_fixture;

bool matches(const GgufValue& v, const json& e) {
  switch (v.type) {
    case GgufType::F32: return e.is_number() && float(e.get<double>()) == float(v.as_double());
    case GgufType::F64: return e.is_number() && e.get<double>() == v.as_double();
    case GgufType::BOOL: return e.is_boolean() && e.get<bool>() == *v.as_bool();
    case GgufType::STRING: return e.is_string() && e.get<std::string>() == *v.as_string();
    case GgufType::ARRAY: {
      const GgufArray& a = *v.as_array();
      if (!e.is_array() || e.size() != a.items.size()) return false;
      for (size_t i = 0; i < a.items.size(); ++i)
        if (a.items[i].type != a.elem || !matches(a.items[i], e[i])) return false;
      return true;
    }
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
      return e.is_number_unsigned() ? e.get<uint64_t>() == v.as_uint()
                                    : e.is_number_integer() && e.get<int64_t>() == int64_t(v.as_uint());
    default:
      return e.is_number_integer() && e.get<int64_t>() == v.as_int();
  }
}

class GgufFixture : public testing::TestWithParam<std::string> {};

TEST_P(GgufFixture, MatchesGgufPy) {
  const json want = test::gguf_fixture_description(GetParam());
  auto file = MappedFile::open(gguf_fixture(GetParam()));
  ASSERT_EQ(file->size(), want["size"].get<size_t>());
  const GgufFile f = parse_gguf(file->data(), file->size(), file->path());
  EXPECT_EQ(f.version, 3u);

  ASSERT_EQ(f.kv.size(), want["metadata"].size());
  for (size_t i = 0; i < f.kv.size(); ++i) {
    const json& m = want["metadata"][i];
    SCOPED_TRACE(m[0].get<std::string>());
    EXPECT_EQ(f.kv[i].first, m[0].get<std::string>());  // file order kept
    EXPECT_EQ(gguf_type_name(f.kv[i].second.type), m[1].get<std::string>());
    EXPECT_TRUE(matches(f.kv[i].second, m[2])) << gguf_value_to_json(f.kv[i].second).dump();
  }

  ASSERT_EQ(f.tensors.size(), want["tensors"].size());
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const GgufTensorInfo& t = f.tensors[i];
    const json& w = want["tensors"][i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, w["name"].get<std::string>());
    EXPECT_EQ(dtype_info(t.dtype).ggml_type, w["ggml_type"].get<int>());
    EXPECT_EQ(t.ne, w["ne"].get<std::vector<int64_t>>());
    EXPECT_EQ(f.data_offset + t.offset, w["data_offset"].get<size_t>());
    EXPECT_EQ(t.nbytes, w["nbytes"].get<size_t>());
    EXPECT_EQ(test::crc32(file->data() + f.data_offset + t.offset, t.nbytes), w["crc32"].get<uint32_t>());
    // Plain floats: the values gguf-py read, converted by sputnik's scalar conversions.
    const std::byte* p = file->data() + f.data_offset + t.offset;
    const auto& first = w["first_values"];
    for (size_t k = 0; k < first.size() && !dtype_is_quantized(t.dtype); ++k) {
      float got;
      uint16_t h;
      if (t.dtype == DType::F32) std::memcpy(&got, p + 4 * k, 4);
      else {
        std::memcpy(&h, p + 2 * k, 2);
        got = t.dtype == DType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      EXPECT_EQ(got, first[k].get<float>()) << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Files, GgufFixture,
                         testing::Values("gguf_qwen2.gguf", "gguf_deepseek2.gguf",
                                         "gguf_deepseek2_split.gguf", "gguf_types.gguf"),
                         [](const auto& info) {
                           std::string n = info.param.substr(5, info.param.size() - 10);
                           for (char& c : n) if (c == '.') c = '_';
                           return n;
                         });

TEST(GgufReader, TypesFileDetails) {
  auto file = MappedFile::open(gguf_fixture("gguf_types.gguf"));
  const GgufFile f = parse_gguf(file->data(), file->size(), file->path());
  EXPECT_EQ(f.alignment, 64u);
  EXPECT_EQ(f.data_offset % 64, 0u);
  const GgufValue* nested = f.find("t.array_nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->as_array()->elem, GgufType::ARRAY);
  EXPECT_EQ(nested->as_array()->items[2].as_array()->items[1].as_int(), 5);
  EXPECT_EQ(f.find("t.u64")->as_uint(), 18000000000000000000ull);
  EXPECT_EQ(f.find("t.i64")->as_int(), -9000000000000000000ll);
  EXPECT_EQ(*f.find("t.string")->as_string(), "héllo, GGUF ✓");
  const json meta = gguf_metadata_json(f);
  EXPECT_EQ(meta["t.f32"].get<double>(), 0.1);  // shortest decimal of the f32, not 0.10000000149
  EXPECT_EQ(meta["t.array_nested_strings"], json::parse(R"([["x","y"],["z"]])"));
  EXPECT_EQ(meta["t.array_u8"], json::parse("[1,2,255]"));
  // PyTorch order is ggml's reversed.
  EXPECT_EQ(f.find_tensor("four_d")->shape(), (std::vector<int64_t>{2, 1, 3, 32}));
  EXPECT_EQ(f.find_tensor("q4_k")->dtype, DType::Q4_K);
  EXPECT_EQ(f.find_tensor("q6_k")->nbytes, 2u * 210u);
  // Without an architecture there is no model to build.
  EXPECT_THROW(gguf_to_store(f, file->data()), Error);
}

TEST(GgufLoad, Qwen2NamesConfigAndTokenizer) {
  const std::string path = gguf_fixture("gguf_qwen2.gguf");
  auto store = load_gguf(path);
  EXPECT_EQ(store->source, path);
  const json& c = store->config;
  EXPECT_EQ(c["model_type"], "qwen2");
  EXPECT_EQ(c["hidden_size"], 32);
  EXPECT_EQ(c["num_hidden_layers"], 1);
  EXPECT_EQ(c["num_attention_heads"], 4);
  EXPECT_EQ(c["num_key_value_heads"], 2);
  EXPECT_EQ(c["intermediate_size"], 64);
  EXPECT_EQ(c["vocab_size"], 40);  // from the token list: qwen2 files carry no vocab_size
  EXPECT_EQ(c["max_position_embeddings"], 4096);
  EXPECT_EQ(c["rope_theta"].get<double>(), 1000000.0);
  EXPECT_EQ(c["rms_norm_eps"].get<double>(), 1e-6);
  EXPECT_EQ(c["tie_word_embeddings"], true);  // no output.weight
  EXPECT_EQ(c["rope_scaling"]["type"], "yarn");
  EXPECT_EQ(c["rope_scaling"]["factor"].get<double>(), 4.0);
  EXPECT_EQ(c["rope_scaling"]["original_max_position_embeddings"], 1024);
  EXPECT_EQ(c["bos_token_id"], 0);

  EXPECT_EQ(store->size(), 14u);
  EXPECT_EQ(store->get("model.embed_tokens.weight").shape, (std::vector<int64_t>{40, 32}));
  EXPECT_EQ(store->get("model.embed_tokens.weight").dtype, DType::Q8_0);
  EXPECT_EQ(store->get("model.layers.0.self_attn.q_proj.weight").dtype, DType::F16);
  EXPECT_EQ(store->get("model.layers.0.self_attn.k_proj.weight").shape, (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(store->get("model.layers.0.self_attn.v_proj.weight").dtype, DType::BF16);
  EXPECT_EQ(store->get("model.layers.0.self_attn.v_proj.bias").shape, (std::vector<int64_t>{16}));
  EXPECT_EQ(store->get("model.layers.0.mlp.down_proj.weight").shape, (std::vector<int64_t>{32, 64}));
  EXPECT_TRUE(store->contains("model.layers.0.input_layernorm.weight"));
  EXPECT_TRUE(store->contains("model.layers.0.post_attention_layernorm.weight"));
  EXPECT_TRUE(store->contains("model.layers.0.mlp.gate_proj.weight"));
  EXPECT_TRUE(store->contains("model.layers.0.mlp.up_proj.weight"));
  EXPECT_TRUE(store->contains("model.layers.0.self_attn.o_proj.weight"));
  EXPECT_TRUE(store->contains("model.norm.weight"));
  EXPECT_FALSE(store->contains("lm_head.weight"));

  // Views point into the mapping, at the bytes gguf-py wrote.
  const json want = test::gguf_fixture_description("gguf_qwen2.gguf");
  const TensorView& q = store->get("model.layers.0.self_attn.q_proj.weight");
  const std::byte* base = store->files().at(0)->data();
  for (const auto& t : want["tensors"])
    if (t["name"] == "blk.0.attn_q.weight") {
      EXPECT_EQ(q.data, base + t["data_offset"].get<size_t>());
      EXPECT_EQ(test::crc32(q.data, q.nbytes), t["crc32"].get<uint32_t>());
    }

  // The store leaves the vocabulary in the file; a full parse has it.
  for (std::string_view key : kGgufVocabularyKeys) EXPECT_FALSE(store->metadata.contains(key)) << key;
  const auto file = MappedFile::open(gguf_fixture("gguf_qwen2.gguf"));
  json m = gguf_metadata_json(parse_gguf(file->data(), file->size(), file->path()));
  for (const auto& [key, value] : store->metadata.items()) EXPECT_EQ(m[key], value) << key;
  EXPECT_EQ(m.size(), store->metadata.size() + 3);  // tokens, token_type, merges
  EXPECT_EQ(m["tokenizer.ggml.model"], "gpt2");
  EXPECT_EQ(m["tokenizer.ggml.pre"], "qwen2");
  ASSERT_EQ(m["tokenizer.ggml.tokens"].size(), 40u);
  EXPECT_EQ(m["tokenizer.ggml.tokens"][1], "<|im_start|>");
  EXPECT_EQ(m["tokenizer.ggml.tokens"][30], "é");
  EXPECT_EQ(m["tokenizer.ggml.token_type"][0], 3);
  EXPECT_EQ(m["tokenizer.ggml.merges"][2], "Ġ w");
  EXPECT_EQ(m["general.architecture"], "qwen2");
  EXPECT_EQ(m["tokenizer.ggml.add_bos_token"], false);
}

TEST(GgufLoad, DeepSeek2FusedLayout) {
  auto store = load_gguf(gguf_fixture("gguf_deepseek2.gguf"));
  const json& c = store->config;
  EXPECT_EQ(c["model_type"], "deepseek_v3");
  EXPECT_EQ(c["num_hidden_layers"], 2);
  EXPECT_EQ(c["vocab_size"], 40);
  EXPECT_EQ(c["q_lora_rank"], 32);
  EXPECT_EQ(c["kv_lora_rank"], 32);
  EXPECT_EQ(c["qk_nope_head_dim"], 16);
  EXPECT_EQ(c["qk_rope_head_dim"], 8);
  EXPECT_EQ(c["v_head_dim"], 16);
  EXPECT_EQ(c["num_key_value_heads"], 2);
  EXPECT_EQ(c["n_routed_experts"], 4);
  EXPECT_EQ(c["num_experts_per_tok"], 2);
  EXPECT_EQ(c["n_shared_experts"], 1);
  EXPECT_EQ(c["moe_intermediate_size"], 32);
  EXPECT_EQ(c["intermediate_size"], 64);
  EXPECT_EQ(c["first_k_dense_replace"], 1);
  EXPECT_EQ(c["routed_scaling_factor"].get<double>(), 2.5);
  EXPECT_EQ(c["norm_topk_prob"], true);
  EXPECT_EQ(c["scoring_func"], "sigmoid");
  EXPECT_EQ(c["topk_method"], "noaux_tc");
  EXPECT_EQ(c["n_group"], 1);
  EXPECT_EQ(c["tie_word_embeddings"], false);
  EXPECT_EQ(c["max_position_embeddings"], 163840);
  EXPECT_EQ(c["rope_scaling"]["type"], "yarn");
  EXPECT_EQ(c["rope_scaling"]["factor"].get<double>(), 40.0);
  EXPECT_EQ(c["rope_scaling"]["original_max_position_embeddings"], 4096);
  EXPECT_NEAR(c["rope_scaling"]["mscale_all_dim"].get<double>(), 0.707, 1e-12);
  EXPECT_NEAR(c["rope_scaling"]["mscale"].get<double>(), 0.707, 1e-12);

  const std::string L1 = "model.layers.1.";
  EXPECT_EQ(store->get("lm_head.weight").shape, (std::vector<int64_t>{40, 32}));
  EXPECT_EQ(store->get(L1 + "self_attn.q_a_proj.weight").shape, (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(store->get(L1 + "self_attn.q_a_layernorm.weight").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(store->get(L1 + "self_attn.q_b_proj.weight").shape, (std::vector<int64_t>{48, 32}));
  EXPECT_EQ(store->get(L1 + "self_attn.kv_a_proj_with_mqa.weight").shape, (std::vector<int64_t>{40, 32}));
  EXPECT_EQ(store->get(L1 + "self_attn.kv_a_layernorm.weight").shape, (std::vector<int64_t>{32}));
  EXPECT_EQ(store->get(L1 + "self_attn.kv_b_proj.weight").shape, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(store->get(L1 + "mlp.gate.weight").shape, (std::vector<int64_t>{4, 32}));
  EXPECT_EQ(store->get(L1 + "mlp.gate.e_score_correction_bias").shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(store->get(L1 + "mlp.shared_experts.down_proj.weight").shape, (std::vector<int64_t>{32, 32}));
  EXPECT_TRUE(store->contains("model.layers.0.mlp.gate_proj.weight"));
  EXPECT_FALSE(store->contains("model.layers.0.mlp.gate.weight"));

  // Stacked experts become per-expert views over consecutive slices of the stacked bytes.
  const json want = test::gguf_fixture_description("gguf_deepseek2.gguf");
  const std::byte* base = store->files().at(0)->data();
  for (const char* proj : {"gate_proj", "up_proj", "down_proj"}) {
    const std::string gguf_name = std::string("blk.1.ffn_") + std::string(proj).substr(0, std::string(proj).find('_')) + "_exps.weight";
    json t;
    for (const auto& x : want["tensors"])
      if (x["name"] == gguf_name) t = x;
    ASSERT_FALSE(t.is_null()) << gguf_name;
    const size_t per_expert = t["nbytes"].get<size_t>() / 4;
    for (int e = 0; e < 4; ++e) {
      const TensorView& v = store->get(L1 + "mlp.experts." + std::to_string(e) + "." + proj + ".weight");
      EXPECT_EQ(v.shape, (std::vector<int64_t>{t["ne"][1].get<int64_t>(), t["ne"][0].get<int64_t>()}));
      EXPECT_EQ(v.data, base + t["data_offset"].get<size_t>() + e * per_expert);
      EXPECT_EQ(v.nbytes, per_expert);
    }
    EXPECT_FALSE(store->contains(L1 + "mlp.experts.4." + proj + ".weight"));
  }
  EXPECT_EQ(store->get(L1 + "mlp.experts.3.down_proj.weight").dtype, DType::Q4_0);
}

TEST(GgufLoad, DeepSeek2SplitLayout) {
  auto store = load_gguf(gguf_fixture("gguf_deepseek2_split.gguf"));
  const json& c = store->config;
  EXPECT_EQ(c["model_type"], "deepseek_v2");
  EXPECT_TRUE(c["q_lora_rank"].is_null());
  EXPECT_EQ(c["qk_nope_head_dim"], 16);  // from key_length_mla, not the MQA key_length
  EXPECT_EQ(c["v_head_dim"], 16);
  EXPECT_EQ(c["num_key_value_heads"], 2);  // per-head view, not the file's MQA head_count_kv 1
  EXPECT_EQ(c["scoring_func"], "softmax");
  EXPECT_EQ(c["n_group"], 2);
  EXPECT_EQ(c["topk_group"], 1);
  EXPECT_EQ(c["topk_method"], "group_limited_greedy");
  EXPECT_EQ(c["first_k_dense_replace"], 0);
  EXPECT_FALSE(c.contains("rope_scaling"));

  EXPECT_EQ(store->get("model.layers.0.self_attn.q_proj.weight").shape, (std::vector<int64_t>{48, 32}));
  EXPECT_FALSE(store->contains("model.layers.0.self_attn.kv_b_proj.weight"));
  const TensorView& kb = store->get("model.layers.0.self_attn.k_b_proj.weight");
  const TensorView& vb = store->get("model.layers.0.self_attn.v_b_proj.weight");
  EXPECT_EQ(kb.shape, (std::vector<int64_t>{2, 32, 16}));  // [n_head, kv_lora, qk_nope]
  EXPECT_EQ(vb.shape, (std::vector<int64_t>{2, 16, 32}));  // [n_head, v_head, kv_lora]
  EXPECT_EQ(kb.dtype, DType::F16);
  EXPECT_EQ(vb.dtype, DType::Q8_0);
  EXPECT_FALSE(store->contains("model.layers.0.mlp.gate.e_score_correction_bias"));
  EXPECT_EQ(store->get("model.layers.0.mlp.experts.2.gate_proj.weight").shape, (std::vector<int64_t>{32, 32}));
}

TEST(GgufLoad, SniffsMagic) {
  EXPECT_TRUE(is_gguf_file(gguf_fixture("gguf_qwen2.gguf")));
  EXPECT_FALSE(is_gguf_file(gguf_fixture("gguf_fixtures.json")));
  EXPECT_FALSE(is_gguf_file(gguf_fixture("no_such_file.gguf")));
}

}  // namespace
}  // namespace sputnik
