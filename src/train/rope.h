#pragma once
// Rotary position embedding, applied in place to a rotated section of every head.
// Two pair layouts exist in the checkpoints we train:
//   rotate_half (Qwen2/Llama):     pair i = dims (i, i + rot_dim/2)
//   interleaved (HF DeepSeek):     pair i = dims (2i, 2i + 1)
// Pair i turns by angle pos·inv_freq[i]; cos and sin are multiplied by `scale` (YaRN's attention
// factor for Qwen2, mscale/mscale_all_dim for DeepSeek; 1 without YaRN).
#include <cstdint>
#include <vector>

namespace sputnik::train {

struct YarnParams {
  double factor = 1.0;                  // rope_scaling.factor; <= 1 means no YaRN
  int64_t original_max_position = 4096;  // rope_scaling.original_max_position_embeddings
  double beta_fast = 32.0, beta_slow = 1.0;
};

struct RopeTable {
  int64_t rot_dim = 0;
  bool interleaved = false;
  float scale = 1.0f;
  std::vector<float> inv_freq;  // rot_dim / 2 entries
};

// inv_freq[i] = theta^(-2i/rot_dim), blended with inv_freq/factor by YaRN's linear ramp between
// the correction dims of beta_fast and beta_slow when yarn.factor > 1.
RopeTable make_rope_table(int64_t rot_dim, bool interleaved, double theta, const YarnParams& yarn,
                          float scale);

// YaRN's magnitude correction: 0.1·mscale·ln(factor) + 1 (1 when factor <= 1).
double yarn_mscale(double factor, double mscale);

// x is [T, heads, head_stride]; the rotated dims are [offset, offset + rot_dim) of each head.
void rope_forward(const RopeTable& rope, float* x, const int32_t* pos, int64_t T, int64_t heads,
                  int64_t head_stride, int64_t offset);
// In place: turns the gradient of the rotated output into the gradient of the input (R^T·dy).
void rope_backward(const RopeTable& rope, float* dx, const int32_t* pos, int64_t T, int64_t heads,
                   int64_t head_stride, int64_t offset);

}  // namespace sputnik::train
