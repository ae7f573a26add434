#pragma once
// DeepSeek-V3's complementary sequence-wise balance loss (V3 report, eqs. 17-20), for one MoE
// layer over a [n_seq, S] batch:
//   L_seq = Σ_i f_i · P_i   per sequence of T = S tokens (every position counts, masked targets too)
//   f_i   = N_r / (K_r · T) · Σ_t 1[expert i is among token t's chosen top-k]
//   P_i   = 1/T · Σ_t s'_{i,t},   s'_{i,t} = s_{i,t} / Σ_j s_{j,t}
// with s the router's unbiased scores (sigmoid for V3, softmax for V2; for softmax s' = s) and the
// choice the router actually made (bias and group limit included). The value returned is the mean
// of L_seq over the sequences; α and the average over layers are the caller's (model.h).
// f is a count and carries no gradient; the gradient flows through P into the router logits.
#include <cstdint>

#include "train/router.h"

namespace sputnik::train {

// scores [n_seq·S, E], idx [n_seq·S, K] as router_forward wrote them.
float seq_balance_forward(const RouterSpec& spec, const float* scores, const int32_t* idx, int64_t n_seq,
                          int64_t S);
// Adds dloss · d(mean_seq L_seq)/d(logits) into dlogits [n_seq·S, E].
void seq_balance_backward(const RouterSpec& spec, float* dlogits, const float* scores, const int32_t* idx,
                          int64_t n_seq, int64_t S, float dloss);

}  // namespace sputnik::train
