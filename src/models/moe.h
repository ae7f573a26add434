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
  // One token with the shared experts in R > 1 panels (models/decode_panels.h), else 1: the
  // block is then computed as R groups, group g being panel g of the shared experts (its inner
  // rows of gate/up, its columns of down) and the g-th R-th of the chosen experts (in the
  // router's order, whole), each mixed into a partial output of its own; the partials are
  // added in group order. A decode team of R ranks computes one group a rank, alone (no
  // barrier but team_sum's, no exchange of activations); anywhere else all groups are computed
  // and added the same way, so a team decodes bit for bit what one thread does.
  int decode_groups() const;
  void run_groups(const float* x, const std::vector<int32_t>& experts, const std::vector<float>& mix,
                  float* out) const;

  const ModelConfig* c_;
  Linear gate_;
  std::vector<float> bias_;
  std::vector<Mlp> experts_;
  std::optional<Mlp> shared_;
};

}  // namespace sputnik
