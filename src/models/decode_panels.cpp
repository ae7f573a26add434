#include "models/decode_panels.h"

#include <atomic>

namespace sputnik {
namespace {

std::atomic<int64_t> g_splits{0};

}  // namespace

int64_t decode_split_count() { return g_splits.load(std::memory_order_relaxed); }
void count_decode_split() { g_splits.fetch_add(1, std::memory_order_relaxed); }

DecodePanels decode_panels(const WeightStore& store, const std::string& name, int ranks) {
  if (ranks < 2 || !store.config.is_object()) return {};
  const std::string type = store.config.value("model_type", "");
  const bool qwen2 = type == "qwen2", deepseek = type == "deepseek_v2" || type == "deepseek_v3";
  // The name within its layer ("model.layers.N." stripped).
  size_t dot = 0;
  for (int i = 0; i < 3 && dot != std::string::npos; ++i) dot = name.find('.', dot + (i > 0));
  if (!name.starts_with("model.layers.") || dot == std::string::npos) return {};
  const std::string part = name.substr(dot + 1);
  using Axis = TensorView::PanelAxis;
  // The MLP blocks: dense layers (qwen2, DeepSeek's first layers) and DeepSeek's shared experts
  // (its routed experts are split whole among the ranks, models/moe.h).
  if (qwen2 || deepseek) {
    if (part == "mlp.gate_proj.weight" || part == "mlp.up_proj.weight" ||
        part == "mlp.shared_experts.gate_proj.weight" || part == "mlp.shared_experts.up_proj.weight")
      return {ranks, Axis::Rows};
    if (part == "mlp.down_proj.weight" || part == "mlp.shared_experts.down_proj.weight") return {ranks, Axis::Cols};
  }
  // DeepSeek's MLA, by heads (models/mla.h); kv_a and q_a, which every rank needs whole, by
  // rows that the ranks exchange.
  if (deepseek) {
    if (part == "self_attn.q_proj.weight" || part == "self_attn.q_b_proj.weight" ||
        part == "self_attn.q_a_proj.weight" || part == "self_attn.kv_a_proj_with_mqa.weight")
      return {ranks, Axis::Rows};
    if (part == "self_attn.o_proj.weight") return {ranks, Axis::Cols};
    return {};
  }
  // qwen2's attention, by KV heads.
  const auto kv = store.config.find("num_key_value_heads");
  if (!qwen2 || kv == store.config.end() || !kv->is_number_integer() || kv->get<int64_t>() % ranks != 0) return {};
  if (part == "self_attn.q_proj.weight" || part == "self_attn.k_proj.weight" || part == "self_attn.v_proj.weight")
    return {ranks, Axis::Rows};
  if (part == "self_attn.o_proj.weight") return {ranks, Axis::Cols};
  return {};
}

}  // namespace sputnik
