#pragma once
// The forward pass every user shares: the generation loop, the server (many sequences batched
// into one call) and, later, training. A model borrows its weights from a WeightStore (mmap'd
// views, nothing copied except small norm/bias vectors and MLA's re-laid-out key projection).
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "formats/weight_store.h"
#include "models/batch.h"
#include "models/config.h"
#include "models/kv_cache.h"

namespace sputnik {

struct ModelStats {
  int64_t total_params = 0;   // every tensor of the checkpoint (MTP layers included)
  int64_t active_params = 0;  // per token in the main model: routed experts counted top-k only
  int64_t mtp_params = 0;
  int64_t weight_bytes = 0;
  struct DTypeCount {
    int64_t tensors = 0, params = 0, bytes = 0;
  };
  std::map<std::string, DTypeCount> dtypes;
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelConfig& config() const { return config_; }
  const WeightStore& weights() const { return *weights_; }

  // Runs `batch`, appending its keys/values to `cache`, and writes vocab_size logits for every
  // token whose want_logits is set, in batch order (logits may be null when none is wanted).
  // Throws Error on bad tokens, slots or positions before touching the cache.
  virtual void forward(const Batch& batch, KVCache& cache, float* logits) = 0;

  // A cache shaped for this model: n_slots sequences of up to max_tokens (0: unbounded).
  KVCache make_cache(int64_t n_slots, int64_t max_tokens) const;
  int64_t kv_bytes_per_token() const { return config_.kv_bytes_per_token(); }
  ModelStats stats() const;

  // Names of the MTP (multi-token prediction) tensors, layer index >= num_hidden_layers, kept
  // reachable for speculative decoding and training.
  int64_t n_mtp_layers() const { return n_mtp_layers_; }
  const TensorView* mtp_tensor(int64_t mtp_index, const std::string& suffix) const;

 protected:
  Model(std::shared_ptr<const WeightStore> weights, ModelConfig config)
      : weights_(std::move(weights)), config_(std::move(config)) {}
  // Checks tokens, slots and positions of `batch` against the cache and reserves room.
  void prepare(const Batch& batch, KVCache& cache) const;
  // Advances each slot's length past the batch's tokens (after a successful forward).
  static void commit(const Batch& batch, KVCache& cache);

  std::shared_ptr<const WeightStore> weights_;
  ModelConfig config_;
  int64_t n_mtp_layers_ = 0;
};

// Builds the model `weights.config` describes; throws Error naming missing/mis-shaped tensors.
std::unique_ptr<Model> load_model(std::shared_ptr<const WeightStore> weights);

}  // namespace sputnik
