#pragma once
// Random in-memory checkpoints for engine-level tests (batching, cache slots, layouts). Numeric
// ground truth lives in the PyTorch reference tests; these check self-consistency only.
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "formats/weight_store.h"

namespace sputnik::test {

inline void add_random(WeightStore& ws, const std::string& name, std::vector<int64_t> shape,
                       std::mt19937& rng, float center, float spread) {
  TensorView t;
  t.name = name;
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  t.nbytes = size_t(t.numel()) * 4;
  float* p = reinterpret_cast<float*>(ws.allocate(t.nbytes));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = center + spread * nd(rng);
  t.data = reinterpret_cast<const std::byte*>(p);
  ws.add(t);
}

inline void add_matrix(WeightStore& ws, const std::string& name, int64_t out, int64_t in, std::mt19937& rng) {
  add_random(ws, name, {out, in}, rng, 0.0f, 1.0f / std::sqrt(float(in)));
}

inline void add_mlp(WeightStore& ws, const std::string& p, int64_t d, int64_t inner, std::mt19937& rng) {
  add_matrix(ws, p + ".gate_proj.weight", inner, d, rng);
  add_matrix(ws, p + ".up_proj.weight", inner, d, rng);
  add_matrix(ws, p + ".down_proj.weight", d, inner, rng);
}

inline nlohmann::json qwen2_config() {
  return {{"model_type", "qwen2"}, {"vocab_size", 50}, {"hidden_size", 32}, {"intermediate_size", 48},
          {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"rope_theta", 10000.0}, {"rms_norm_eps", 1e-6}, {"tie_word_embeddings", true}};
}

inline nlohmann::json deepseek_config() {
  return {{"model_type", "deepseek_v3"}, {"vocab_size", 50}, {"hidden_size", 32},
          {"intermediate_size", 48}, {"moe_intermediate_size", 16}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"q_lora_rank", 16}, {"kv_lora_rank", 16},
          {"qk_nope_head_dim", 8}, {"qk_rope_head_dim", 4}, {"v_head_dim", 8},
          {"n_routed_experts", 4}, {"num_experts_per_tok", 2}, {"n_shared_experts", 1},
          {"first_k_dense_replace", 1}, {"n_group", 2}, {"topk_group", 1},
          {"norm_topk_prob", true}, {"routed_scaling_factor", 2.0}};
}

// Fills `ws` with random weights for `config` (qwen2 or deepseek, HF names). With
// split_kv_b, DeepSeek layers get llama.cpp's k_b_proj/v_b_proj derived from kv_b_proj.
inline void make_tiny(WeightStore& ws, const nlohmann::json& config, unsigned seed, bool split_kv_b = false) {
  std::mt19937 rng(seed);
  ws.source = "tiny";
  ws.config = config;
  const int64_t d = config["hidden_size"], vocab = config["vocab_size"], layers = config["num_hidden_layers"];
  add_random(ws, "model.embed_tokens.weight", {vocab, d}, rng, 0.0f, 1.0f);
  add_random(ws, "model.norm.weight", {d}, rng, 1.0f, 0.1f);
  if (!config.value("tie_word_embeddings", false)) add_matrix(ws, "lm_head.weight", vocab, d, rng);
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    add_random(ws, p + ".input_layernorm.weight", {d}, rng, 1.0f, 0.1f);
    add_random(ws, p + ".post_attention_layernorm.weight", {d}, rng, 1.0f, 0.1f);
    if (config["model_type"] == "qwen2") {
      const int64_t nh = config["num_attention_heads"], nkv = config["num_key_value_heads"], hd = d / nh;
      add_matrix(ws, p + ".self_attn.q_proj.weight", nh * hd, d, rng);
      add_random(ws, p + ".self_attn.q_proj.bias", {nh * hd}, rng, 0.0f, 0.3f);
      add_matrix(ws, p + ".self_attn.k_proj.weight", nkv * hd, d, rng);
      add_random(ws, p + ".self_attn.k_proj.bias", {nkv * hd}, rng, 0.0f, 0.3f);
      add_matrix(ws, p + ".self_attn.v_proj.weight", nkv * hd, d, rng);
      add_random(ws, p + ".self_attn.v_proj.bias", {nkv * hd}, rng, 0.0f, 0.3f);
      add_matrix(ws, p + ".self_attn.o_proj.weight", d, nh * hd, rng);
      add_mlp(ws, p + ".mlp", d, config["intermediate_size"], rng);
      continue;
    }
    const int64_t nh = config["num_attention_heads"], nope = config["qk_nope_head_dim"],
                  rope = config["qk_rope_head_dim"], vd = config["v_head_dim"], lora = config["kv_lora_rank"],
                  ql = config["q_lora_rank"];
    add_matrix(ws, p + ".self_attn.q_a_proj.weight", ql, d, rng);
    add_random(ws, p + ".self_attn.q_a_layernorm.weight", {ql}, rng, 1.0f, 0.1f);
    add_matrix(ws, p + ".self_attn.q_b_proj.weight", nh * (nope + rope), ql, rng);
    add_matrix(ws, p + ".self_attn.kv_a_proj_with_mqa.weight", lora + rope, d, rng);
    add_random(ws, p + ".self_attn.kv_a_layernorm.weight", {lora}, rng, 1.0f, 0.1f);
    // Same random draws either way; the split store keeps the fused matrix under another name.
    const std::string kvb_name = p + (split_kv_b ? ".self_attn.kv_b_source" : ".self_attn.kv_b_proj.weight");
    add_matrix(ws, kvb_name, nh * (nope + vd), lora, rng);
    if (split_kv_b) {
      // k_b_proj[h] = W_UK_h^T [lora, nope]; v_b_proj[h] = W_UV_h [vd, lora].
      const float* kvb = reinterpret_cast<const float*>(ws.get(kvb_name).data);
      std::vector<float> kb(size_t(nh * lora * nope)), vb(size_t(nh * vd * lora));
      for (int64_t h = 0; h < nh; ++h) {
        for (int64_t j = 0; j < nope; ++j)
          for (int64_t c = 0; c < lora; ++c) kb[size_t((h * lora + c) * nope + j)] = kvb[(h * (nope + vd) + j) * lora + c];
        for (int64_t j = 0; j < vd; ++j)
          for (int64_t c = 0; c < lora; ++c) vb[size_t((h * vd + j) * lora + c)] = kvb[(h * (nope + vd) + nope + j) * lora + c];
      }
      for (auto [name, shape, src] : {std::tuple{std::string(".self_attn.k_b_proj.weight"), std::vector<int64_t>{nh, lora, nope}, &kb},
                                      std::tuple{std::string(".self_attn.v_b_proj.weight"), std::vector<int64_t>{nh, vd, lora}, &vb}}) {
        TensorView t;
        t.name = p + name;
        t.dtype = DType::F32;
        t.shape = shape;
        t.nbytes = src->size() * 4;
        std::byte* dst = ws.allocate(t.nbytes);
        std::memcpy(dst, src->data(), t.nbytes);
        t.data = dst;
        ws.add(t);
      }
    }
    add_matrix(ws, p + ".self_attn.o_proj.weight", d, nh * vd, rng);
    if (l < int64_t(config["first_k_dense_replace"])) {
      add_mlp(ws, p + ".mlp", d, config["intermediate_size"], rng);
    } else {
      const int64_t ne = config["n_routed_experts"], inner = config["moe_intermediate_size"];
      add_random(ws, p + ".mlp.gate.weight", {ne, d}, rng, 0.0f, 1.0f);
      add_random(ws, p + ".mlp.gate.e_score_correction_bias", {ne}, rng, 0.0f, 0.1f);
      for (int64_t e = 0; e < ne; ++e) add_mlp(ws, p + ".mlp.experts." + std::to_string(e), d, inner, rng);
      add_mlp(ws, p + ".mlp.shared_experts", d, inner * int64_t(config["n_shared_experts"]), rng);
    }
  }
}

}  // namespace sputnik::test
