// The name table. Global tensors map whole names; per-layer ones map the part after
// "blk.L." / "model.layers.L.".
#include "formats/gguf_names.h"

#include <charconv>
#include <utility>

namespace sputnik {
namespace {

constexpr std::pair<std::string_view, std::string_view> kGlobal[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};

constexpr std::pair<std::string_view, std::string_view> kLayer[] = {
    // shared by qwen2 and deepseek2
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"attn_output.bias", "self_attn.o_proj.bias"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
    // deepseek2 multi-head latent attention
    {"attn_q_a.weight", "self_attn.q_a_proj.weight"},
    {"attn_q_a_norm.weight", "self_attn.q_a_layernorm.weight"},
    {"attn_q_b.weight", "self_attn.q_b_proj.weight"},
    {"attn_kv_a_mqa.weight", "self_attn.kv_a_proj_with_mqa.weight"},
    {"attn_kv_a_norm.weight", "self_attn.kv_a_layernorm.weight"},
    {"attn_kv_b.weight", "self_attn.kv_b_proj.weight"},
    {"attn_k_b.weight", "self_attn.k_b_proj.weight"},
    {"attn_v_b.weight", "self_attn.v_b_proj.weight"},
    // deepseek2 mixture of experts
    {"ffn_gate_inp.weight", "mlp.gate.weight"},
    {"exp_probs_b.bias", "mlp.gate.e_score_correction_bias"},
    {"ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"},
    {"ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"},
    {"ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"},
    // multi-token-prediction layers (newer llama.cpp files)
    {"nextn.eh_proj.weight", "eh_proj.weight"},
    {"nextn.enorm.weight", "enorm.weight"},
    {"nextn.hnorm.weight", "hnorm.weight"},
    {"nextn.embed_tokens.weight", "embed_tokens.weight"},
    {"nextn.shared_head_head.weight", "shared_head.head.weight"},
    {"nextn.shared_head_norm.weight", "shared_head.norm.weight"},
};

constexpr std::pair<std::string_view, std::string_view> kExperts[] = {
    {"ffn_gate_exps.weight", "gate_proj"},
    {"ffn_up_exps.weight", "up_proj"},
    {"ffn_down_exps.weight", "down_proj"},
};

// Parses "<prefix><digits>." at the start of `name`; returns the layer and the rest.
std::optional<std::pair<int64_t, std::string_view>> split_layer(std::string_view name,
                                                                std::string_view prefix) {
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  name.remove_prefix(prefix.size());
  int64_t layer = -1;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (ec != std::errc() || p == name.data() || layer < 0 || p == name.data() + name.size() ||
      *p != '.')
    return std::nullopt;
  // No leading zeros: "blk.01" is not layer 1 (keeps the mapping one-to-one).
  if (name[0] == '0' && p - name.data() > 1) return std::nullopt;
  return std::pair{layer, name.substr(size_t(p - name.data()) + 1)};
}

}  // namespace

std::optional<std::string> gguf_to_hf_name(std::string_view gguf_name) {
  for (auto [g, h] : kGlobal)
    if (g == gguf_name) return std::string(h);
  auto split = split_layer(gguf_name, "blk.");
  if (!split) return std::nullopt;
  for (auto [g, h] : kLayer)
    if (g == split->second) return "model.layers." + std::to_string(split->first) + "." + std::string(h);
  return std::nullopt;
}

std::optional<std::string> hf_to_gguf_name(std::string_view hf_name) {
  for (auto [g, h] : kGlobal)
    if (h == hf_name) return std::string(g);
  auto split = split_layer(hf_name, "model.layers.");
  if (!split) return std::nullopt;
  for (auto [g, h] : kLayer)
    if (h == split->second) return "blk." + std::to_string(split->first) + "." + std::string(g);
  return std::nullopt;
}

std::optional<ExpertsName> parse_gguf_experts_name(std::string_view gguf_name) {
  auto split = split_layer(gguf_name, "blk.");
  if (!split) return std::nullopt;
  for (auto [g, proj] : kExperts)
    if (g == split->second) return ExpertsName{split->first, std::string(proj)};
  return std::nullopt;
}

std::optional<ExpertsName> parse_hf_expert_name(std::string_view hf_name, int64_t* expert) {
  auto split = split_layer(hf_name, "model.layers.");
  if (!split) return std::nullopt;
  auto e = split_layer(split->second, "mlp.experts.");
  if (!e) return std::nullopt;
  for (auto [g, proj] : kExperts) {
    if (e->second == std::string(proj) + ".weight") {
      if (expert) *expert = e->first;
      return ExpertsName{split->first, std::string(proj)};
    }
  }
  return std::nullopt;
}

std::string hf_expert_name(int64_t layer, int64_t expert, std::string_view proj) {
  return "model.layers." + std::to_string(layer) + ".mlp.experts." + std::to_string(expert) + "." +
         std::string(proj) + ".weight";
}

std::string gguf_experts_name(int64_t layer, std::string_view proj) {
  for (auto [g, p] : kExperts)
    if (p == proj) return "blk." + std::to_string(layer) + "." + std::string(g);
  return {};
}

}  // namespace sputnik
