#pragma once
// Model hyper-parameters between GGUF metadata and Hugging Face config.json objects.
//
// GGUF -> HF (gguf_config_json), general.architecture:
//   qwen2     -> model_type "qwen2"
//   deepseek2 -> model_type "deepseek_v3" when experts are scored by sigmoid
//                (expert_gating_func 2) or the file has exp_probs_b tensors, else "deepseek_v2".
// Keys read: block_count, context_length, embedding_length, feed_forward_length,
// attention.head_count(_kv), attention.layer_norm_rms_epsilon, rope.freq_base,
// rope.scaling.{type,factor,original_context_length,yarn_log_multiplier}, vocab_size (else the
// token list length, else token_embd rows); deepseek2 also attention.{q,kv}_lora_rank,
// attention.{key,value}_length(_mla), rope.dimension_count, expert_{count,used_count,
// shared_count,feed_forward_length,weights_scale,weights_norm,gating_func,group_count,
// group_used_count}, leading_dense_block_count, nextn_predict_layers.
// DeepSeek YaRN: llama.cpp stores 0.1 * mscale_all_dim as yarn_log_multiplier and assumes
// mscale == mscale_all_dim, so both are set to yarn_log_multiplier / 0.1.
// Files without expert_group_count route over all experts (n_group 1), as llama.cpp does.
//
// HF -> GGUF (hf_config_to_gguf): the architecture keys llama.cpp's convert_hf_to_gguf.py
// writes, so llama.cpp can load the result. deepseek2 always gets yarn_log_multiplier (llama.cpp
// of early 2025 requires it), 0 without YaRN.
#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "formats/gguf.h"

namespace sputnik {

// Throws Error naming the file for an unknown architecture or a missing/mistyped key.
nlohmann::json gguf_config_json(const GgufFile& f);

using GgufKv = std::pair<std::string, GgufValue>;
// `arch` receives "qwen2" or "deepseek2". Throws Error naming `source` for an unsupported
// model_type or missing fields.
std::vector<GgufKv> hf_config_to_gguf(const nlohmann::json& config, const std::string& source,
                                      std::string* arch);

}  // namespace sputnik
