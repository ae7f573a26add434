#pragma once
// DeepSeek-V2 / V2-Lite / V3 / R1: MLA attention (absorbed), dense SwiGLU for the first
// first_k_dense_replace layers, DeepSeekMoE after, MTP layers kept reachable.
#include <memory>

#include "models/model.h"

namespace sputnik {

std::unique_ptr<Model> make_deepseek(std::shared_ptr<const WeightStore> weights, ModelConfig config);

}  // namespace sputnik
