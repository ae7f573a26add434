#include "core/error.h"
#include "models/deepseek.h"
#include "models/model.h"
#include "models/qwen2.h"

namespace sputnik {

std::unique_ptr<Model> load_model(std::shared_ptr<const WeightStore> weights) {
  if (!weights) fail("load_model: no weights");
  ModelConfig config = parse_model_config(weights->config, weights->source);
  if (config.is_deepseek()) return make_deepseek(std::move(weights), std::move(config));
  return make_qwen2(std::move(weights), std::move(config));
}

}  // namespace sputnik
