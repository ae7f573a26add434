#pragma once
// Qwen2 / Qwen2.5 / QwQ / DeepSeek-R1-Distill-Qwen: GQA attention with q/k/v biases,
// rotate_half RoPE (optionally YaRN), SwiGLU MLP, RMSNorm.
#include <memory>

#include "models/model.h"

namespace sputnik {

std::unique_ptr<Model> make_qwen2(std::shared_ptr<const WeightStore> weights, ModelConfig config);

}  // namespace sputnik
