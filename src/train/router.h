#pragma once
// The MoE router (DeepSeek-V2/V3 gate), from router logits x·gate^T [T, E] to the chosen experts
// and their mixing weights:
//   scores   = softmax(logits) (V2) or sigmoid(logits) (V3)
//   choice   = scores + e_score_correction_bias   (bias steers selection only, never the weights)
//   groups   : experts split into n_group equal groups; a group's score is its max choice score
//              (V2 group_limited_greedy) or the sum of its top-2 (V3 noaux_tc); only the best
//              topk_group groups stay eligible
//   chosen   = top_k eligible experts by choice score (ordered best first)
//   weights  = scores[chosen], divided by their sum (+1e-20) when norm_topk_prob and top_k > 1,
//              times routed_scaling_factor (V3 always; V2 only when it did not normalize, as HF's
//              DeepseekV2 gate does)
// The backward sends d(weights) through the unbiased scores into the logits (all E of them for
// softmax, the chosen ones for sigmoid); selection itself has no gradient.
#include <cstdint>

namespace sputnik::train {

enum class RouterScore { Softmax, Sigmoid };
enum class GroupScore { Max, Top2Sum };

struct RouterSpec {
  int64_t n_experts = 0, top_k = 1;
  int64_t n_group = 1, topk_group = 1;
  RouterScore score = RouterScore::Softmax;
  GroupScore group_score = GroupScore::Max;
  bool norm_topk_prob = false;
  float routed_scaling_factor = 1.0f;
  bool scale_after_norm = true;  // true: V3 semantics; false: V2 (scale only when not normalized)
};

// Throws Error on inconsistent specs (groups not dividing experts, top_k too large...).
void check_router_spec(const RouterSpec& spec);

// logits, scores: [T, E]; bias: [E] or null; idx, weights: [T, top_k].
void router_forward(const RouterSpec& spec, const float* logits, const float* bias, int64_t T,
                    float* scores, int32_t* idx, float* weights);
// Adds into dlogits [T, E].
void router_backward(const RouterSpec& spec, float* dlogits, const float* dweights, const float* scores,
                     const int32_t* idx, int64_t T);

}  // namespace sputnik::train
