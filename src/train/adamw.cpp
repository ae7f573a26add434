#include "train/adamw.h"

#include <cmath>

#include "core/threads.h"
#include "train/grain.h"

namespace sputnik::train {

AdamW::AdamW(const std::vector<Param>& params, size_t total, AdamWConfig config)
    : params_(params), config_(config), m_(total, 0.0f), v_(total, 0.0f) {}

void AdamW::step(float* data, const float* grads, float lr) {
  ++t_;
  const AdamWConfig& c = config_;
  const double bc1 = 1.0 - std::pow(double(c.beta1), double(t_));
  const double bc2 = 1.0 - std::pow(double(c.beta2), double(t_));
  const float step = float(lr / bc1), inv_sqrt_bc2 = float(1.0 / std::sqrt(bc2));
  for (const Param& p : params_) {
    if (!p.trainable) continue;
    const float decay = p.decay ? 1.0f - lr * c.weight_decay : 1.0f;
    float* w = data + p.offset;
    const float* g = grads + p.offset;
    float* m = m_.data() + p.offset;
    float* v = v_.data() + p.offset;
    parallel_for(int64_t(p.size), kMinWorkPerChunk, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * g[i];
        v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * g[i] * g[i];
        w[i] = w[i] * decay - step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + c.eps);
      }
    });
  }
}

float clip_grad_norm(const std::vector<Param>& params, float* grads, float max_norm) {
  double ss = 0;
  for (const Param& p : params) {
    if (!p.trainable) continue;
    const float* g = grads + p.offset;
    for (size_t i = 0; i < p.size; ++i) ss += double(g[i]) * g[i];
  }
  const float norm = float(std::sqrt(ss));
  if (max_norm > 0) {
    const float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f)
      for (const Param& p : params)
        if (p.trainable)
          for (size_t i = 0; i < p.size; ++i) grads[p.offset + i] *= coef;
  }
  return norm;
}

}  // namespace sputnik::train
