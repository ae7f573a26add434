#pragma once
// Next-token cross-entropy, mean over the positions whose target is not `ignore_index`
// (SFT masks prompt tokens with -100, as PyTorch's default). logits [T, V], targets [T].
#include <cstdint>

namespace sputnik::train {

inline constexpr int32_t kIgnoreIndex = -100;

// Returns the mean loss (0 when every target is ignored); lse [T] keeps each row's
// log-sum-exp for the backward. Throws Error for a target outside [0, V) that is not ignored.
float cross_entropy_forward(float* lse, const float* logits, const int32_t* targets, int64_t T, int64_t V,
                            int32_t ignore_index = kIgnoreIndex);
// Adds dloss·(softmax − onehot)/n_valid into dlogits.
void cross_entropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                            int64_t T, int64_t V, float dloss, int32_t ignore_index = kIgnoreIndex);
// The same gradient written over the logits themselves (rows with an ignored target become
// zeros): the [T, V] logits are the largest activation and are not needed after this.
void cross_entropy_backward_inplace(float* logits, const float* lse, const int32_t* targets, int64_t T, int64_t V,
                                    float dloss, int32_t ignore_index = kIgnoreIndex);

}  // namespace sputnik::train
