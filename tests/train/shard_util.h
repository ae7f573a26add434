#pragma once
// Writing token shards (.bin/.idx/.mask) and tiny model configs for the trainer tests.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace sputnik::train::testing {

inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("sputnik_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

template <typename T>
void write_raw(const std::string& path, const std::vector<T>& v) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(v.data()), std::streamsize(v.size() * sizeof(T)));
}

// base + ".bin" (and ".idx" / ".mask" when given non-empty); returns the .bin path.
inline std::string write_shard(const std::string& base, const std::vector<uint32_t>& tokens,
                               const std::vector<uint64_t>& idx = {}, const std::vector<uint8_t>& mask = {}) {
  write_raw(base + ".bin", tokens);
  if (!idx.empty()) write_raw(base + ".idx", idx);
  if (!mask.empty()) write_raw(base + ".mask", mask);
  return base + ".bin";
}

// A corpus a tiny model can learn: a few fixed "sentences" in a seeded random order.
inline std::vector<uint32_t> repetitive_corpus(int64_t n, uint32_t vocab, uint64_t seed = 1) {
  const std::vector<std::vector<uint32_t>> sentences = {
      {1, 5, 9, 13, 17, 21, 2}, {1, 6, 10, 14, 18, 22, 26, 2}, {1, 7, 11, 15, 19, 2}, {1, 8, 12, 16, 20, 24, 28, 30, 2}};
  std::vector<uint32_t> out;
  uint64_t s = seed;
  while (int64_t(out.size()) < n) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    for (uint32_t t : sentences[(s >> 33) % sentences.size()]) out.push_back(t % vocab);
  }
  out.resize(size_t(n));
  return out;
}

inline nlohmann::json tiny_qwen2_config() {
  return {{"model_type", "qwen2"}, {"vocab_size", 32}, {"hidden_size", 32}, {"intermediate_size", 64},
          {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"max_position_embeddings", 256}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"tie_word_embeddings", true}};
}

// DeepSeek-V3 shape: MLA with q_lora, 1 dense + 1 MoE layer, sigmoid noaux_tc routing with the
// correction bias, a shared expert, and one MTP module.
inline nlohmann::json tiny_v3_config(bool mtp = true) {
  return {{"model_type", "deepseek_v3"}, {"vocab_size", 32}, {"hidden_size", 32}, {"intermediate_size", 48},
          {"moe_intermediate_size", 16}, {"num_hidden_layers", 2}, {"first_k_dense_replace", 1},
          {"num_attention_heads", 2}, {"q_lora_rank", 16}, {"kv_lora_rank", 16}, {"qk_nope_head_dim", 8},
          {"qk_rope_head_dim", 8}, {"v_head_dim", 8}, {"n_routed_experts", 4}, {"num_experts_per_tok", 2},
          {"n_group", 2}, {"topk_group", 1}, {"n_shared_experts", 1}, {"norm_topk_prob", true},
          {"scoring_func", "sigmoid"}, {"topk_method", "noaux_tc"}, {"routed_scaling_factor", 2.5},
          {"max_position_embeddings", 256}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"num_nextn_predict_layers", mtp ? 1 : 0}, {"tie_word_embeddings", false}};
}

inline std::string write_config(const std::string& dir, const nlohmann::json& config) {
  const std::string path = dir + "/config.json";
  std::ofstream(path) << config.dump(2);
  return path;
}

}  // namespace sputnik::train::testing
