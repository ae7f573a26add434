#pragma once
// What one decode step (one token, one sequence) reads of the weights: the honest numerator of
// `sputnik bench`'s "GB/s of active weights".
#include <cstdint>

#include "models/model.h"

namespace sputnik {

// Bytes of weights a single-token forward streams, as the engine runs it:
//   - the token embedding: one row, unless it also serves as the output head (tied, or no
//     lm_head in the checkpoint), which reads all of it;
//   - routed experts of MoE layers: k of n per token (num_experts_per_tok / n_routed_experts
//     of their bytes, the average over tokens);
//   - MLA's fused kv_b_proj: its W_UV rows from the checkpoint plus the re-laid-out W_UK^T copy
//     in the type Mla::absorbed_key_dtype picks (the checkpoint's W_UK rows are not read);
//   - MTP layers: nothing (decode does not run them); everything else: all of it.
double decode_weight_bytes(const Model& model);

}  // namespace sputnik
