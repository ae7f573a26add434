#pragma once
// What Qwen2 and DeepSeek share: embedding, pre-norm residual blocks, final norm and the output
// head. Subclasses supply each layer's attention and feed-forward.
#include <vector>

#include "models/model.h"
#include "models/weights.h"

namespace sputnik {

// Batches of at most this many tokens (decode steps) run their layers as one team
// (core/team.h): the serial work between products runs on every core, and the products meet at
// barriers instead of forking and joining a parallel region each. On unless turned off here or
// with SPUTNIK_DECODE_TEAM=0 (to compare); results are the same bit for bit either way.
constexpr int64_t kDecodeTeamTokens = 4;
void set_decode_team(bool on);

class Transformer : public Model {
 public:
  void forward(const Batch& batch, KVCache& cache, float* logits) override;

 protected:
  Transformer(std::shared_ptr<const WeightStore> weights, ModelConfig config);

  // out[n, hidden] = attention of layer `layer` over normalized inputs h[n, hidden]; writes
  // the batch's keys/values into `cache` first.
  virtual void attention(int64_t layer, const float* h, const Batch& batch, KVCache& cache,
                         float* out) const = 0;
  virtual void feed_forward(int64_t layer, const float* h, int64_t n, float* out) const = 0;

  TensorView embed_;
  Linear head_;
  std::vector<float> final_norm_;
  std::vector<std::vector<float>> attn_norm_, ffn_norm_;
};

}  // namespace sputnik
