#include "models/decode_panels.h"

#include <atomic>

namespace sputnik {
namespace {

std::atomic<int64_t> g_splits{0};

}  // namespace

int64_t decode_split_count() { return g_splits.load(std::memory_order_relaxed); }
void count_decode_split() { g_splits.fetch_add(1, std::memory_order_relaxed); }

DecodePanels decode_panels(const WeightStore& store, const std::string& name, int ranks) {
  if (ranks < 2 || !store.config.is_object() || store.config.value("model_type", "") != "qwen2") return {};
  const auto kv = store.config.find("num_key_value_heads");
  if (kv == store.config.end() || !kv->is_number_integer() || kv->get<int64_t>() % ranks != 0) return {};
  using Axis = TensorView::PanelAxis;
  for (const char* rows : {".self_attn.q_proj.weight", ".self_attn.k_proj.weight", ".self_attn.v_proj.weight",
                           ".mlp.gate_proj.weight", ".mlp.up_proj.weight"})
    if (name.ends_with(rows)) return {ranks, Axis::Rows};
  if (name.ends_with(".self_attn.o_proj.weight") || name.ends_with(".mlp.down_proj.weight")) return {ranks, Axis::Cols};
  return {};
}

}  // namespace sputnik
