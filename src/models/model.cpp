#include "models/model.h"

#include <map>

#include "core/error.h"

namespace sputnik {

KVCache Model::make_cache(int64_t n_slots, int64_t max_tokens) const {
  return KVCache(config_.num_hidden_layers, n_slots, config_.kv_floats_per_token_layer(), max_tokens);
}

void Model::prepare(const Batch& batch, KVCache& cache) const {
  const size_t n = batch.tokens.size();
  if (batch.slots.size() != n || batch.positions.size() != n || batch.want_logits.size() != n)
    fail("forward: batch arrays differ in length");
  if (cache.n_layers() != config_.num_hidden_layers ||
      cache.width() != config_.kv_floats_per_token_layer())
    fail("forward: KV cache was made for a different model");
  std::map<int64_t, int64_t> next;  // slot -> position its next token must have
  for (size_t t = 0; t < n; ++t) {
    const int32_t tok = batch.tokens[t];
    if (tok < 0 || tok >= config_.vocab_size)
      fail("forward: token id {} out of range [0, {})", tok, config_.vocab_size);
    const int64_t slot = batch.slots[t];
    if (slot < 0 || slot >= cache.n_slots())
      fail("forward: slot {} out of range [0, {})", slot, cache.n_slots());
    auto it = next.find(slot);
    if (it == next.end()) it = next.emplace(slot, cache.length(slot)).first;
    if (batch.positions[t] != it->second)
      fail("forward: token {} of slot {} has position {}, expected {} (the cache holds {} tokens)",
           t, slot, batch.positions[t], it->second, cache.length(slot));
    ++it->second;
  }
  for (auto [slot, end] : next) cache.reserve(slot, end);
}

void Model::commit(const Batch& batch, KVCache& cache) {
  for (size_t t = 0; t < batch.tokens.size(); ++t)
    cache.set_length(batch.slots[t], batch.positions[t] + 1);
}

const TensorView* Model::mtp_tensor(int64_t mtp_index, const std::string& suffix) const {
  if (mtp_index < 0 || mtp_index >= n_mtp_layers_) return nullptr;
  return weights_->find("model.layers." + std::to_string(config_.num_hidden_layers + mtp_index) + "." +
                        suffix);
}

ModelStats Model::stats() const {
  ModelStats s;
  const ModelConfig& c = config_;
  const std::string mtp_prefix_start = "model.layers.";
  int64_t routed_inactive = 0;
  for (const std::string& name : weights_->names()) {
    const TensorView& t = weights_->get(name);
    auto& d = s.dtypes[std::string(dtype_name(t.dtype))];
    d.tensors++;
    d.params += t.numel();
    d.bytes += int64_t(t.nbytes);
    s.total_params += t.numel();
    s.weight_bytes += int64_t(t.nbytes);
    // Layer index of "model.layers.<i>.…" names: MTP layers sit past the main stack.
    if (name.rfind(mtp_prefix_start, 0) == 0) {
      const int64_t layer = std::atoll(name.c_str() + mtp_prefix_start.size());
      if (layer >= c.num_hidden_layers) {
        s.mtp_params += t.numel();
        continue;
      }
      if (c.is_moe_layer(layer) && name.find(".mlp.experts.") != std::string::npos)
        routed_inactive += t.numel();
    }
  }
  // Of the routed experts, each token uses top-k of n.
  if (c.n_routed_experts > 0)
    routed_inactive = routed_inactive / c.n_routed_experts * (c.n_routed_experts - c.num_experts_per_tok);
  s.active_params = s.total_params - s.mtp_params - routed_inactive;
  return s;
}

}  // namespace sputnik
