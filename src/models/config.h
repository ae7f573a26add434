#pragma once
// Hyper-parameters of one checkpoint, parsed from its Hugging Face config.json (or the equivalent
// object the GGUF loader builds). One struct serves both families; fields a family does not use
// keep their defaults.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sputnik {

enum class Arch { Qwen2, DeepSeekV2, DeepSeekV3 };

// `rope_scaling` of type "yarn": longer context by interpolating the low rope frequencies.
struct YarnConfig {
  bool enabled = false;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0, beta_slow = 1.0;
  double mscale = 1.0;          // DeepSeek: cos/sin carry mscale(mscale) / mscale(mscale_all_dim)
  double mscale_all_dim = 0.0;  // DeepSeek: softmax scale *= mscale(mscale_all_dim)^2
  bool has_mscale = false, has_mscale_all_dim = false;
  double attention_factor = 0.0;  // Qwen2 (transformers): explicit cos/sin multiplier, 0 = derive
};

enum class ScoringFunc { Softmax, Sigmoid };
enum class TopkMethod { Greedy, GroupLimitedGreedy, NoAuxTc };

struct ModelConfig {
  Arch arch = Arch::Qwen2;
  std::string model_type;

  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;  // dense MLP
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // qwen2 GQA
  int64_t head_dim = 0;             // qwen2: hidden / heads
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // deepseek q/kv/o biases (always false in released checkpoints)
  YarnConfig yarn;

  // DeepSeek MLA
  int64_t q_lora_rank = 0;  // 0: plain q_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;

  // DeepSeek MoE
  int64_t n_routed_experts = 0;  // 0: every layer dense
  int64_t num_experts_per_tok = 0;
  int64_t n_shared_experts = 0;
  int64_t moe_intermediate_size = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  ScoringFunc scoring_func = ScoringFunc::Softmax;
  TopkMethod topk_method = TopkMethod::Greedy;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;
  int64_t num_nextn_predict_layers = 0;

  bool is_deepseek() const { return arch != Arch::Qwen2; }
  bool is_moe_layer(int64_t layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // Floats the KV cache stores per token per layer (MLA: latent + rope key only).
  int64_t kv_floats_per_token_layer() const;
  int64_t kv_bytes_per_token() const { return kv_floats_per_token_layer() * 4 * num_hidden_layers; }
};

// Throws Error naming `source` and the offending field when the config is unusable.
ModelConfig parse_model_config(const nlohmann::json& j, const std::string& source);

std::string arch_name(Arch a);

}  // namespace sputnik
