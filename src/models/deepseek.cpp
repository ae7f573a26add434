#include "models/deepseek.h"

#include <optional>
#include <vector>

#include "core/error.h"
#include "models/mla.h"
#include "models/mlp.h"
#include "models/moe.h"
#include "models/transformer.h"

namespace sputnik {
namespace {

class DeepSeek final : public Transformer {
 public:
  DeepSeek(std::shared_ptr<const WeightStore> weights, ModelConfig config)
      : Transformer(std::move(weights), std::move(config)) {
    const ModelConfig& c = config_;
    const WeightStore& ws = *weights_;
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l);
      attn_.emplace_back(ws, p + ".self_attn", c);
      if (c.is_moe_layer(l)) {
        moe_.emplace_back(Moe(ws, p + ".mlp", c));
        dense_.emplace_back();
      } else {
        moe_.emplace_back();
        dense_.emplace_back(load_mlp(ws, p + ".mlp", c.hidden_size, c.intermediate_size));
      }
    }
    // MTP modules: checked for shape so a broken one fails at load, used later by speculative
    // decoding / training through mtp_tensor(). Files converted without them are fine.
    for (int64_t i = 0; i < c.num_nextn_predict_layers; ++i) {
      const std::string p = "model.layers." + std::to_string(c.num_hidden_layers + i);
      if (!ws.contains(p + ".eh_proj.weight")) break;
      ws.get(p + ".eh_proj.weight", {c.hidden_size, 2 * c.hidden_size});
      ws.get(p + ".enorm.weight", {c.hidden_size});
      ws.get(p + ".hnorm.weight", {c.hidden_size});
      ++n_mtp_layers_;
    }
  }

 protected:
  void attention(int64_t layer, const float* h, const Batch& batch, KVCache& cache,
                 float* out) const override {
    attn_[size_t(layer)](layer, h, batch, cache, out);
  }

  void feed_forward(int64_t layer, const float* h, int64_t n, float* out) const override {
    if (moe_[size_t(layer)]) return (*moe_[size_t(layer)])(h, n, out);
    const Mlp& mlp = *dense_[size_t(layer)];
    if (mlp.splits_decode(n)) return mlp.decode_split(h, out);
    mlp(h, n, out);
  }

 private:
  std::vector<Mla> attn_;
  std::vector<std::optional<Moe>> moe_;
  std::vector<std::optional<Mlp>> dense_;
};

}  // namespace

std::unique_ptr<Model> make_deepseek(std::shared_ptr<const WeightStore> weights, ModelConfig config) {
  return std::make_unique<DeepSeek>(std::move(weights), std::move(config));
}

}  // namespace sputnik
