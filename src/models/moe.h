#pragma once
// DeepSeekMoE: a router picks top-k routed experts per token (softmax or sigmoid scores,
// optional group-limited selection and selection-only bias), their SwiGLU outputs are mixed by
// the router weights, and shared experts see every token.
#include <optional>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/mlp.h"

namespace sputnik {

// Routing of one token from its router logits [n_routed_experts]: writes k expert ids and
// mixing weights. `bias` (e_score_correction_bias) may be null.
void route_token(const ModelConfig& c, const float* logits, const float* bias, int32_t* experts,
                 float* weights);

class Moe {
 public:
  Moe(const WeightStore& ws, const std::string& prefix, const ModelConfig& c);
  void operator()(const float* x, int64_t n, float* out) const;

 private:
  // Up to this many tokens (decode, small batches) take run_few.
  static constexpr int64_t kFewTokens = 4;
  void run_few(const float* x, int64_t n, const std::vector<std::vector<std::pair<int64_t, float>>>& per_expert,
               float* out) const;

  const ModelConfig* c_;
  Linear gate_;
  std::vector<float> bias_;
  std::vector<Mlp> experts_;
  std::optional<Mlp> shared_;
};

}  // namespace sputnik
