#pragma once
// DeepSeekMoE feed-forward: routed experts mixed by the router's weights plus always-on shared
// experts (one SwiGLU MLP of width n_shared·F, as HF stores `mlp.shared_experts`):
//   out[t] = Σ_k w[t,k] · expert_{idx[t,k]}(x[t]) + shared(x[t])
// Gradients reach the experts through their tokens, and the gate through w (router.h).
#include <cstdint>
#include <vector>

#include "train/router.h"
#include "train/swiglu.h"

namespace sputnik::train {

struct MoeWeights {
  RouterSpec router;
  int64_t C = 0;
  const float* gate = nullptr;        // [E, C]  mlp.gate.weight
  const float* gate_bias = nullptr;   // [E] e_score_correction_bias, or null
  std::vector<MlpWeights> experts;    // E entries, each [F, C]/[C, F]
  MlpWeights shared;                  // shared.F == 0 when the model has none
};
struct MoeGrads {
  float* gate = nullptr;
  std::vector<MlpGrads> experts;
  MlpGrads shared;
};

struct MoeActs {
  std::vector<float> logits, scores, weights;  // [T, E], [T, E], [T, K]
  std::vector<int32_t> idx;                    // [T, K]
  // Per expert: which (t·K + k) slots it serves, its gathered inputs and raw (unweighted) outputs.
  std::vector<std::vector<int64_t>> slots;
  std::vector<std::vector<float>> xin, yout;
  std::vector<MlpActs> expert_acts;
  MlpActs shared_acts;
  std::vector<int64_t> load() const;  // tokens per expert, for balance statistics
};

// The sequence-wise balance loss's share of the backward (balance_loss.h): the T tokens are
// n_seq = T / seq_len sequences, and the layer's term in the total loss has weight `weight`.
struct MoeBalance {
  int64_t seq_len = 0;
  float weight = 0.0f;
};

void moe_forward(const MoeWeights& w, const float* x, int64_t T, float* out, MoeActs& acts);
// Adds into dx and the gradients (of the balance term too when `balance` has a nonzero weight).
void moe_backward(const MoeWeights& w, const MoeGrads& g, const float* x, int64_t T, const float* dout,
                  const MoeActs& acts, float* dx, const MoeBalance& balance = {});

}  // namespace sputnik::train
