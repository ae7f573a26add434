// HF checkpoint -> GGUF (what `sputnik quantize` writes), read back with the GGUF reader:
// names, stacking of experts, per-tensor types, values, config and tokenizer metadata.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "formats/gguf_export.h"
#include "formats/gguf_writer.h"
#include "gguf_test_util.h"
#include "kernels/matmul.h"

namespace sputnik {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// All metadata of a GGUF file, vocabulary included (load_gguf's store leaves it in the file).
json full_metadata(const std::string& path) {
  const auto file = MappedFile::open(path);
  return gguf_metadata_json(parse_gguf(file->data(), file->size(), path));
}

// An HF-named store with F32 weights whose values are a function of name and index.
class HfStore {
 public:
  explicit HfStore(json config) {
    store.source = "hf-test";
    store.config = std::move(config);
  }
  static float value(const std::string& name, int64_t i) {
    return std::sin(float(i) * 0.37f + float(std::hash<std::string>{}(name) % 1000) * 0.01f);
  }
  void add(const std::string& name, std::vector<int64_t> shape) {
    TensorView v;
    v.name = name;
    v.dtype = DType::F32;
    v.shape = std::move(shape);
    v.nbytes = size_t(v.numel()) * 4;
    auto* p = reinterpret_cast<float*>(store.allocate(v.nbytes));
    for (int64_t i = 0; i < v.numel(); ++i) p[i] = value(name, i);
    v.data = reinterpret_cast<std::byte*>(p);
    store.add(std::move(v));
  }
  WeightStore store;
};

std::vector<float> floats(const TensorView& v) {
  std::vector<float> out(size_t(v.numel()));
  dequantize_rows(v, 0, v.rows(), out.data());
  return out;
}

const json kQwen2 = json::parse(R"({
  "model_type": "qwen2", "vocab_size": 48, "hidden_size": 64, "intermediate_size": 96,
  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
  "max_position_embeddings": 2048, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "tie_word_embeddings": true, "bos_token_id": 45, "eos_token_id": 46})");

HfStore qwen2_store() {
  HfStore s(kQwen2);
  s.add("model.embed_tokens.weight", {48, 64});
  s.add("model.norm.weight", {64});
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    s.add(p + "input_layernorm.weight", {64});
    s.add(p + "post_attention_layernorm.weight", {64});
    s.add(p + "self_attn.q_proj.weight", {64, 64});
    s.add(p + "self_attn.q_proj.bias", {64});
    s.add(p + "self_attn.k_proj.weight", {32, 64});
    s.add(p + "self_attn.k_proj.bias", {32});
    s.add(p + "self_attn.v_proj.weight", {32, 64});
    s.add(p + "self_attn.v_proj.bias", {32});
    s.add(p + "self_attn.o_proj.weight", {64, 64});
    s.add(p + "mlp.gate_proj.weight", {96, 64});
    s.add(p + "mlp.up_proj.weight", {96, 64});
    s.add(p + "mlp.down_proj.weight", {64, 96});  // rows of 96: not whole Q4_K blocks
  }
  return s;
}

// A byte-level BPE tokenizer folder in the HF layout.
std::string tokenizer_dir() {
  const fs::path dir = test::temp_path("tok");
  fs::create_directories(dir);
  json vocab = json::object();
  for (int i = 0; i < 40; ++i) vocab[std::string(1, char('!' + i))] = i;
  vocab["Ġa"] = 40;
  const json tok = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({json::array({"Ġ", "a"}), json::array({"a b", "c"})})}}},
      {"added_tokens", json::array({{{"id", 45}, {"content", "<|endoftext|>"}, {"special", true}},
                                    {{"id", 46}, {"content", "<|im_end|>"}, {"special", true}},
                                    {{"id", 47}, {"content", "<think>"}, {"special", false}}})},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", json::array({{{"type", "Split"},
                          {"pattern", {{"Regex", "(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"}}}}})}}}};
  std::ofstream(dir / "tokenizer.json") << tok.dump();
  const json cfg = {{"chat_template", "{{ messages[0].content }}"},
                    {"eos_token", "<|im_end|>"},
                    {"add_bos_token", false},
                    {"pad_token", {{"content", "<|endoftext|>"}}}};
  std::ofstream(dir / "tokenizer_config.json") << cfg.dump();
  return dir.string();
}

TEST(GgufExport, Qwen2Q8WithTokenizer) {
  HfStore s = qwen2_store();
  GgufExportOptions opts;
  opts.type = DType::Q8_0;
  opts.tokenizer_dir = tokenizer_dir();
  opts.name = "tiny";
  size_t last_done = 0, last_total = 0;
  opts.progress = [&](size_t d, size_t t) { last_done = d, last_total = t; };
  const std::string out = test::temp_path("qwen2_q8.gguf");
  export_gguf(s.store, out, opts);
  EXPECT_EQ(last_total, s.store.size());
  EXPECT_EQ(last_done, last_total);

  auto g = load_gguf(out);
  const json m = full_metadata(out);
  std::remove(out.c_str());
  fs::remove_all(opts.tokenizer_dir);
  EXPECT_EQ(g->size(), s.store.size());
  for (const std::string& name : s.store.names()) {
    SCOPED_TRACE(name);
    const TensorView& src = s.store.get(name);
    const TensorView& dst = g->get(name);
    EXPECT_EQ(dst.shape, src.shape);
    const bool keep_f32 = src.shape.size() == 1;
    EXPECT_EQ(dst.dtype, keep_f32 ? DType::F32 : DType::Q8_0);
    const auto a = floats(src), b = floats(dst);
    float amax = 0;
    for (float x : a) amax = std::max(amax, std::abs(x));
    for (size_t i = 0; i < a.size(); ++i)
      ASSERT_NEAR(b[i], a[i], keep_f32 ? 0.0f : amax / 127 * 0.51f + 1e-3f) << i;
  }
  const json& c = g->config;
  for (const char* key : {"vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                          "rms_norm_eps", "rope_theta", "tie_word_embeddings"})
    EXPECT_EQ(c[key], kQwen2[key]) << key;

  EXPECT_FALSE(g->metadata.contains("tokenizer.ggml.tokens"));
  EXPECT_EQ(g->metadata["tokenizer.ggml.pre"], "qwen2");
  EXPECT_EQ(m["general.name"], "tiny");
  EXPECT_EQ(m["general.file_type"], 7);
  EXPECT_EQ(m["general.quantization_version"], 2);
  EXPECT_EQ(m["tokenizer.ggml.model"], "gpt2");
  EXPECT_EQ(m["tokenizer.ggml.pre"], "qwen2");
  ASSERT_EQ(m["tokenizer.ggml.tokens"].size(), 48u);
  EXPECT_EQ(m["tokenizer.ggml.tokens"][0], "!");
  EXPECT_EQ(m["tokenizer.ggml.tokens"][40], "Ġa");
  EXPECT_EQ(m["tokenizer.ggml.tokens"][42], "[PAD42]");
  EXPECT_EQ(m["tokenizer.ggml.tokens"][46], "<|im_end|>");
  EXPECT_EQ(m["tokenizer.ggml.token_type"][0], 1);   // normal
  EXPECT_EQ(m["tokenizer.ggml.token_type"][42], 5);  // unused padding
  EXPECT_EQ(m["tokenizer.ggml.token_type"][45], 3);  // special -> control
  EXPECT_EQ(m["tokenizer.ggml.token_type"][47], 4);  // added, not special -> user defined
  EXPECT_EQ(m["tokenizer.ggml.merges"], json::parse(R"(["Ġ a", "aĠb c"])"));
  EXPECT_EQ(m["tokenizer.ggml.eos_token_id"], 46);  // tokenizer_config.json wins over config.json
  EXPECT_EQ(m["tokenizer.ggml.bos_token_id"], 45);  // config.json
  EXPECT_EQ(m["tokenizer.ggml.padding_token_id"], 45);
  EXPECT_EQ(m["tokenizer.ggml.add_bos_token"], false);
  EXPECT_EQ(m["tokenizer.chat_template"], "{{ messages[0].content }}");
}

TEST(GgufExport, TypeFallbacks) {
  EXPECT_EQ(gguf_export_type("blk.0.ffn_down.weight", {64, 96}, DType::Q4_K), DType::Q8_0);
  EXPECT_EQ(gguf_export_type("blk.0.ffn_down.weight", {64, 256}, DType::Q4_K), DType::Q4_K);
  EXPECT_EQ(gguf_export_type("blk.0.ffn_down.weight", {64, 48}, DType::Q4_0), DType::F16);
  EXPECT_EQ(gguf_export_type("blk.0.attn_q.bias", {64}, DType::Q4_0), DType::F32);
  EXPECT_EQ(gguf_export_type("blk.0.attn_kv_a_norm.weight", {512}, DType::Q4_0), DType::F32);
  EXPECT_EQ(gguf_export_type("blk.0.ffn_gate_inp.weight", {64, 2048}, DType::Q4_0), DType::F32);
  EXPECT_EQ(gguf_export_type("blk.0.exp_probs_b.bias", {64}, DType::Q8_0), DType::F32);
  EXPECT_EQ(gguf_export_type("token_embd.weight", {100, 64}, DType::BF16), DType::BF16);
}

TEST(GgufExport, DeepSeekExpertsStackedInOrder) {
  HfStore s(json::parse(R"({
    "model_type": "deepseek_v3", "vocab_size": 32, "hidden_size": 64, "intermediate_size": 128,
    "moe_intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 2, "n_shared_experts": 1, "n_routed_experts": 3,
    "routed_scaling_factor": 2.5, "kv_lora_rank": 32, "q_lora_rank": 32, "qk_rope_head_dim": 8,
    "v_head_dim": 16, "qk_nope_head_dim": 16, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
    "norm_topk_prob": true, "scoring_func": "sigmoid", "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-06, "rope_theta": 10000, "num_nextn_predict_layers": 1})"));
  s.add("model.embed_tokens.weight", {32, 64});
  s.add("model.norm.weight", {64});
  s.add("lm_head.weight", {32, 64});
  for (int l = 0; l < 3; ++l) {  // layer 2 is the MTP layer: left out
    const std::string p = "model.layers." + std::to_string(l) + ".";
    s.add(p + "input_layernorm.weight", {64});
    s.add(p + "post_attention_layernorm.weight", {64});
    s.add(p + "self_attn.q_a_proj.weight", {32, 64});
    s.add(p + "self_attn.q_a_layernorm.weight", {32});
    s.add(p + "self_attn.q_b_proj.weight", {48, 32});
    s.add(p + "self_attn.kv_a_proj_with_mqa.weight", {40, 64});
    s.add(p + "self_attn.kv_a_layernorm.weight", {32});
    s.add(p + "self_attn.kv_b_proj.weight", {64, 32});
    s.add(p + "self_attn.o_proj.weight", {64, 32});
    if (l == 0) {
      s.add(p + "mlp.gate_proj.weight", {128, 64});
      s.add(p + "mlp.up_proj.weight", {128, 64});
      s.add(p + "mlp.down_proj.weight", {64, 128});
      continue;
    }
    s.add(p + "mlp.gate.weight", {3, 64});
    s.add(p + "mlp.gate.e_score_correction_bias", {3});
    for (int e = 0; e < 3; ++e)
      for (const char* proj : {"gate_proj", "up_proj", "down_proj"})
        s.add(p + "mlp.experts." + std::to_string(e) + "." + proj + ".weight",
              std::string(proj) == "down_proj" ? std::vector<int64_t>{64, 32} : std::vector<int64_t>{32, 64});
    s.add(p + "mlp.shared_experts.gate_proj.weight", {32, 64});
    s.add(p + "mlp.shared_experts.up_proj.weight", {32, 64});
    s.add(p + "mlp.shared_experts.down_proj.weight", {64, 32});
  }
  GgufExportOptions opts;
  opts.type = DType::F32;  // exact values: checks placement, not rounding
  const std::string out = test::temp_path("ds.gguf");
  export_gguf(s.store, out, opts);

  auto bytes = test::read_bytes(out);
  GgufFile f = parse_gguf(bytes.data(), bytes.size(), out);
  const GgufTensorInfo* up = f.find_tensor("blk.1.ffn_up_exps.weight");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->ne, (std::vector<int64_t>{64, 32, 3}));
  EXPECT_EQ(f.find_tensor("blk.1.ffn_gate_inp.weight")->dtype, DType::F32);
  EXPECT_NE(f.find_tensor("blk.1.exp_probs_b.bias"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.2.attn_norm.weight"), nullptr);
  EXPECT_EQ(f.find("deepseek2.block_count")->as_uint(), 2u);
  EXPECT_EQ(f.find("deepseek2.attention.q_lora_rank")->as_uint(), 32u);
  EXPECT_EQ(f.find("deepseek2.rope.scaling.yarn_log_multiplier")->as_double(), 0.0);

  auto g = load_gguf(out);
  std::remove(out.c_str());
  EXPECT_EQ(g->config["model_type"], "deepseek_v3");
  EXPECT_EQ(g->config["topk_method"], "noaux_tc");
  size_t compared = 0;
  for (const std::string& name : s.store.names()) {
    if (name.starts_with("model.layers.2.")) {
      EXPECT_FALSE(g->contains(name));
      continue;
    }
    SCOPED_TRACE(name);
    EXPECT_EQ(floats(g->get(name)), floats(s.store.get(name)));
    ++compared;
  }
  EXPECT_EQ(compared, g->size());
}

TEST(GgufExport, RetypesAGgufFileKeepingItsTokenizer) {
  // The gguf-py qwen2 fixture (Q8_0/Q4_0/F16/BF16 tensors) re-written as F32.
  auto src = load_gguf(test::gguf_fixture("gguf_qwen2.gguf"));
  GgufExportOptions opts;
  opts.type = DType::F32;
  const std::string out = test::temp_path("retyped.gguf");
  export_gguf(*src, out, opts);
  auto g = load_gguf(out);
  const json gm = full_metadata(out), srcm = full_metadata(test::gguf_fixture("gguf_qwen2.gguf"));
  std::remove(out.c_str());
  EXPECT_EQ(g->size(), src->size());
  for (const std::string& name : src->names()) {
    SCOPED_TRACE(name);
    EXPECT_EQ(g->get(name).dtype, DType::F32);
    EXPECT_EQ(floats(g->get(name)), floats(src->get(name)));
  }
  for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                          "tokenizer.ggml.bos_token_id", "tokenizer.chat_template", "tokenizer.ggml.pre"})
    EXPECT_EQ(gm.at(key), srcm.at(key)) << key;
  for (const char* key : {"hidden_size", "num_key_value_heads", "rope_theta", "vocab_size", "rope_scaling"})
    EXPECT_EQ(g->config[key], src->config[key]) << key;
}

TEST(GgufExport, SplitMlaWrittenFused) {
  // Newer llama.cpp files (attn_k_b/attn_v_b, *_mla lengths) go out in the early-2025 layout.
  auto src = load_gguf(test::gguf_fixture("gguf_deepseek2_split.gguf"));
  GgufExportOptions opts;
  opts.type = DType::F32;
  const std::string out = test::temp_path("fused.gguf");
  export_gguf(*src, out, opts);
  const auto bytes = test::read_bytes(out);
  std::remove(out.c_str());
  const GgufFile f = parse_gguf(bytes.data(), bytes.size(), out);
  EXPECT_EQ(f.find_tensor("blk.0.attn_k_b.weight"), nullptr);
  EXPECT_EQ(f.find_tensor("blk.0.attn_v_b.weight"), nullptr);
  const GgufTensorInfo* kv = f.find_tensor("blk.0.attn_kv_b.weight");
  ASSERT_NE(kv, nullptr);
  EXPECT_EQ(kv->ne, (std::vector<int64_t>{32, 64}));
  // numpy's reconstruction from the bytes gguf-py wrote (make_gguf_fixtures.py).
  const json want = test::gguf_fixture_description("gguf_deepseek2_split.gguf")["derived"]["blk.0.attn_kv_b.weight"];
  EXPECT_EQ(test::crc32(bytes.data() + f.data_offset + kv->offset, kv->nbytes), want["crc32_f32"].get<uint32_t>());
  EXPECT_EQ(f.find("deepseek2.attention.key_length")->as_uint(), 24u);
  EXPECT_EQ(f.find("deepseek2.attention.value_length")->as_uint(), 16u);
  EXPECT_EQ(f.find("deepseek2.attention.head_count_kv")->as_uint(), 2u);
  EXPECT_EQ(f.find("deepseek2.attention.key_length_mla"), nullptr);
}

TEST(GgufExport, RejectsWhatItCannotWrite) {
  HfStore s(kQwen2);
  s.add("model.layers.0.self_attn.rotary_emb.weight", {4});
  EXPECT_THROW(export_gguf(s.store, test::temp_path("x.gguf"), {}), Error);
  HfStore t(kQwen2);
  GgufExportOptions opts;
  opts.type = DType::Q5_1;
  EXPECT_THROW(export_gguf(t.store, test::temp_path("y.gguf"), opts), Error);
  HfStore u(json::parse(R"({"model_type": "llama"})"));
  EXPECT_THROW(export_gguf(u.store, test::temp_path("z.gguf"), {}), Error);
}

}  // namespace
}  // namespace sputnik
