#pragma once
// DeepSeek-V3's auxiliary-loss-free load balancing and the expert-load statistics in the log.
// After each optimizer step, for every MoE layer with a routing correction bias:
//   b_i += γ · sign(mean_load − load_i)
// where load_i is the number of tokens expert i received over the whole step (all micro-batches
// and ranks). Overloaded experts get a lower bias and are picked less; the bias only affects
// which experts are selected, never the mixing weights.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "train/model.h"

namespace sputnik::train {

// Model layer index of each MoE layer, in the order TrainModel::expert_load() reports them.
std::vector<int64_t> moe_layer_ids(const ModelConfig& config);

// loads[k][i]: tokens routed to expert i of the k-th MoE layer. Layers without a correction bias
// (V2's softmax routing) are left alone. gamma == 0 does nothing.
void update_router_bias(TrainModel& model, const std::vector<std::vector<double>>& loads, float gamma);

// Per MoE layer {"layer", "max" (max load / mean), "min" (min load / mean)}; 1.0 is perfectly even.
nlohmann::json expert_load_stats(const ModelConfig& config, const std::vector<std::vector<double>>& loads);

}  // namespace sputnik::train
