#pragma once
// A whole Qwen2 or DeepSeek-V2/V3 model for training: f32 parameters under their Hugging Face
// names, forward + backward of the mean next-token cross-entropy over a [B, S] batch, built from
// the op pairs in this directory. Same math as the inference models: pre-norm residual blocks,
// GQA (Qwen2) or MLA (DeepSeek), dense SwiGLU or DeepSeekMoE from first_k_dense_replace on,
// final norm, lm_head (or the tied embedding).
// With num_nextn_predict_layers >= 1 the first DeepSeek-V3 MTP module (stored as layer
// num_hidden_layers) trains too: for position i it sees hnorm(main's final normed hidden at i)
// and enorm(embedding of token i+1), joined as eh_proj([e | h]), runs one block over positions
// 0..S-2, and predicts token i+2 through shared_head.norm and the main model's head.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/config.h"

namespace sputnik {
class WeightStore;
}

namespace sputnik::train {

// Compute options; the defaults are plain f32 training without the balance loss.
struct TrainOptions {
  // Every matmul (forward and backward, weights and activations alike) takes bf16-rounded inputs
  // with f32 accumulation (AVX-512 BF16 where the CPU has it); master weights, gradients,
  // norms, softmax and the loss stay f32.
  bool bf16 = false;
  // α of DeepSeek-V3's sequence-wise balance loss (balance_loss.h); 0 disables it. The loss adds
  // α · mean over the main model's MoE layers of (mean over sequences of Σ_i f_i·P_i). The MTP
  // module's MoE block is not part of it (its router learns from the MTP loss only).
  float seq_aux_alpha = 0.0f;
};

struct Param {
  std::string name;             // HF name, e.g. "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;   // PyTorch order
  size_t offset = 0, size = 0;  // into TrainModel::data() / grads()
  bool trainable = true;        // false for e_score_correction_bias (moved by load balancing, not by gradients)
  bool decay = true;            // AdamW weight decay: matrices yes, norms and biases no
};

class TrainModel {
 public:
  explicit TrainModel(const ModelConfig& config, TrainOptions options = {});
  ~TrainModel();
  TrainModel(const TrainModel&) = delete;
  TrainModel& operator=(const TrainModel&) = delete;

  const ModelConfig& config() const { return config_; }
  const TrainOptions& options() const { return options_; }
  void set_options(const TrainOptions& options) { options_ = options; }
  const std::vector<Param>& params() const { return params_; }
  const Param& param(const std::string& name) const;  // throws Error when absent
  float* data(const std::string& name) { return data_.data() + param(name).offset; }
  float* grad(const std::string& name) { return grads_.data() + param(name).offset; }
  std::vector<float>& data() { return data_; }
  std::vector<float>& grads() { return grads_; }

  // Normal(0, std) matrices, ones for norms, zeros for biases, seeded.
  void init_random(uint64_t seed, float std = 0.02f);
  // Copies (and converts to f32) every parameter from a checkpoint; throws Error naming a
  // missing tensor or a shape mismatch.
  void load(const WeightStore& ws);

  void zero_grad();
  // tokens, targets: [B, S] (targets[s] = tokens[s+1] for next-token training); targets may hold
  // -100 (ignored). Returns mean loss + mtp_weight · MTP loss (the MTP term needs an MTP module)
  // + seq_aux_alpha · balance loss.
  float forward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t S, float mtp_weight = 0.0f);
  // Forward, then adds the gradient of that loss into grads(). Returns the loss.
  float forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t S,
                         float mtp_weight = 0.0f);
  float last_main_loss() const { return main_loss_; }
  float last_mtp_loss() const { return mtp_loss_; }
  // The sequence-wise balance loss of the last forward before α (mean over the main model's MoE
  // layers of the mean over sequences of Σ_i f_i·P_i, which is 1 for perfectly uniform routing
  // and scores), computed whatever α is so it can be logged; 0 without MoE layers.
  float last_balance_loss() const { return balance_loss_; }
  bool has_mtp() const { return mtp_ != nullptr; }

  // Tokens each routed expert received in the last forward, per MoE layer (for load balancing).
  std::vector<std::vector<int64_t>> expert_load() const;

 private:
  struct Layer;
  struct Acts;
  float run(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t S, float mtp_weight, bool backward);
  std::unique_ptr<Layer> add_layer(int64_t l);
  size_t add(const std::string& name, std::vector<int64_t> shape, bool decay, bool trainable = true);

  ModelConfig config_;
  TrainOptions options_;
  std::vector<Param> params_;
  std::vector<float> data_, grads_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::unique_ptr<Acts> acts_;
  std::unique_ptr<Layer> mtp_;  // the MTP module's block, with its extra weights
  size_t enorm_ = 0, hnorm_ = 0, eh_proj_ = 0, mtp_norm_ = 0;
  float main_loss_ = 0.0f, mtp_loss_ = 0.0f, balance_loss_ = 0.0f;
};

}  // namespace sputnik::train
