#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <vector>

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
    // Hyperparameters in locals: read through `c` they could alias the arrays written in the
    // loop, which then could not be vectorized (same operations, same bits either way).
    const float b1 = c.beta1, b2 = c.beta2, eps = c.eps;
    parallel_for(int64_t(p.size), kMinWorkPerChunk, [=](int64_t lo, int64_t hi) {
#pragma omp simd
      for (int64_t i = lo; i < hi; ++i) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        w[i] = w[i] * decay - step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    });
  }
}

float clip_grad_norm(const std::vector<Param>& params, float* grads, float max_norm) {
  // Sums of squares in double over fixed blocks of 4096 values (vectorized within a block, the
  // blocks added in order): the same bits for any thread count.
  constexpr int64_t kBlock = 4096;
  std::vector<double> partial;
  for (const Param& p : params) {
    if (!p.trainable) continue;
    const float* g = grads + p.offset;
    const int64_t n = int64_t(p.size), blocks = (n + kBlock - 1) / kBlock, base = int64_t(partial.size());
    partial.resize(size_t(base + blocks));
    double* out = partial.data() + base;
    parallel_for(blocks, 1, [=](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) s += double(g[i]) * g[i];
        out[b] = s;
      }
    });
  }
  double ss = 0;
  for (double s : partial) ss += s;
  const float norm = float(std::sqrt(ss));
  if (max_norm > 0) {
    const float coef = max_norm / (norm + 1e-6f);
    if (coef < 1.0f)
      for (const Param& p : params)
        if (p.trainable) {
          float* g = grads + p.offset;
          parallel_for(int64_t(p.size), kMinWorkPerChunk, [=](int64_t lo, int64_t hi) {
#pragma omp simd
            for (int64_t i = lo; i < hi; ++i) g[i] *= coef;
          });
        }
  }
  return norm;
}

}  // namespace sputnik::train
