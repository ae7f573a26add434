#include "train/load_balance.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace sputnik::train {

std::vector<int64_t> moe_layer_ids(const ModelConfig& c) {
  std::vector<int64_t> ids;
  if (!c.is_deepseek()) return ids;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    if (c.is_moe_layer(l)) ids.push_back(l);
  return ids;
}

void update_router_bias(TrainModel& model, const std::vector<std::vector<double>>& loads, float gamma) {
  if (gamma == 0.0f) return;
  const std::vector<int64_t> ids = moe_layer_ids(model.config());
  for (size_t k = 0; k < loads.size() && k < ids.size(); ++k) {
    const std::string name = "model.layers." + std::to_string(ids[k]) + ".mlp.gate.e_score_correction_bias";
    const bool has = std::any_of(model.params().begin(), model.params().end(),
                                 [&](const Param& p) { return p.name == name; });
    if (!has) continue;
    const std::vector<double>& load = loads[k];
    if (load.empty()) continue;
    const double mean = std::accumulate(load.begin(), load.end(), 0.0) / double(load.size());
    float* b = model.data(name);
    for (size_t i = 0; i < load.size(); ++i) {
      const double d = mean - load[i];
      b[i] += d > 0 ? gamma : d < 0 ? -gamma : 0.0f;
    }
  }
}

nlohmann::json expert_load_stats(const ModelConfig& config, const std::vector<std::vector<double>>& loads) {
  nlohmann::json out = nlohmann::json::array();
  const std::vector<int64_t> ids = moe_layer_ids(config);
  for (size_t k = 0; k < loads.size() && k < ids.size(); ++k) {
    const std::vector<double>& load = loads[k];
    if (load.empty()) continue;
    const double mean = std::accumulate(load.begin(), load.end(), 0.0) / double(load.size());
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    out.push_back({{"layer", ids[k]}, {"max", mean > 0 ? *hi / mean : 0.0}, {"min", mean > 0 ? *lo / mean : 0.0}});
  }
  return out;
}

}  // namespace sputnik::train
