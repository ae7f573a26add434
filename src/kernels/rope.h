#pragma once
// Rotary position embedding, plain or YaRN-scaled, in the two layouts checkpoints use:
//   Half:        rotation pair i = dims (i, i + dim/2)   (Qwen2/Llama, HF rotate_half)
//   Interleaved: rotation pair i = dims (2i, 2i + 1)     (HF DeepSeek checkpoints)
// Pair i turns by pos * inv_freq[i]; cos/sin are multiplied by `mult` (YaRN attention factor).
#include <cstdint>
#include <vector>

namespace sputnik {

enum class RopeLayout { Half, Interleaved };

struct RopeParams {
  int64_t dim = 0;
  double theta = 10000.0;
  RopeLayout layout = RopeLayout::Half;
  bool yarn = false;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  double beta_fast = 32.0, beta_slow = 1.0;
  double mult = 1.0;
};

class Rope {
 public:
  Rope() = default;
  explicit Rope(const RopeParams& p);
  // Rotates `count` vectors of dim floats, `stride` floats apart, all at position `pos`.
  void apply(float* x, int64_t count, int64_t stride, int64_t pos) const;
  const std::vector<float>& inv_freq() const { return inv_freq_; }
  int64_t dim() const { return p_.dim; }

 private:
  RopeParams p_;
  std::vector<float> inv_freq_;
  // Identifies these parameters for the per-thread table of apply() (copies share it).
  uint64_t id_ = 0;
};

// YaRN's magnitude correction: 0.1 * mscale * ln(scale) + 1 (1 when scale <= 1).
double yarn_mscale(double scale, double mscale);

}  // namespace sputnik
