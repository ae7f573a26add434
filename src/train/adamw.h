#pragma once
// AdamW (decoupled weight decay, PyTorch's torch.optim.AdamW update) over a TrainModel's flat
// parameter buffer, plus global-norm gradient clipping. Weight decay applies only to parameters
// marked `decay` (matrices), never to norms and biases; non-trainable parameters never move.
#include <cstdint>
#include <vector>

#include "train/model.h"

namespace sputnik::train {

struct AdamWConfig {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.1f;
};

class AdamW {
 public:
  AdamW(const std::vector<Param>& params, size_t total, AdamWConfig config);
  // One update with learning rate `lr` (schedules live with the caller).
  void step(float* data, const float* grads, float lr);
  int64_t steps() const { return t_; }
  // Optimizer state, for checkpoints that resume exactly.
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  void set_steps(int64_t t) { t_ = t; }

 private:
  std::vector<Param> params_;
  AdamWConfig config_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

// Scales grads so their global L2 norm (over trainable parameters) is at most max_norm, as
// torch.nn.utils.clip_grad_norm_ does (factor max_norm / (norm + 1e-6), never above 1).
// Returns the norm before clipping. max_norm <= 0 only measures.
float clip_grad_norm(const std::vector<Param>& params, float* grads, float max_norm);

}  // namespace sputnik::train
