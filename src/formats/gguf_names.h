#pragma once
// Tensor names: llama.cpp's GGUF names <-> Hugging Face names, for qwen2 and deepseek2
// (as written by llama.cpp's convert_hf_to_gguf.py; see gguf.h for the list).
// Stacked expert tensors (blk.L.ffn_{gate,up,down}_exps.weight) have no single HF name: HF keeps
// one tensor per expert. They are matched with parse_gguf_experts_name / hf_expert_name.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sputnik {

// HF name for a GGUF tensor name, or nullopt when the table does not know it.
std::optional<std::string> gguf_to_hf_name(std::string_view gguf_name);
// GGUF name for an HF tensor name (not per-expert ones), or nullopt.
std::optional<std::string> hf_to_gguf_name(std::string_view hf_name);

struct ExpertsName {
  int64_t layer = 0;
  std::string proj;  // "gate_proj", "up_proj" or "down_proj"
};
// blk.L.ffn_gate_exps.weight -> {L, "gate_proj"}; nullopt for other names.
std::optional<ExpertsName> parse_gguf_experts_name(std::string_view gguf_name);
// model.layers.L.mlp.experts.E.gate_proj.weight -> {L, "gate_proj"} and E; nullopt otherwise.
std::optional<ExpertsName> parse_hf_expert_name(std::string_view hf_name, int64_t* expert);
std::string hf_expert_name(int64_t layer, int64_t expert, std::string_view proj);
std::string gguf_experts_name(int64_t layer, std::string_view proj);

}  // namespace sputnik
