#include "kernels/rope.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/error.h"

namespace sputnik {

double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

namespace {

// The rotary dim index at which a frequency completes `rotations` turns over the original context.
double correction_dim(double rotations, double dim, double base, double max_pos) {
  return dim * std::log(max_pos / (rotations * 2 * M_PI)) / (2 * std::log(base));
}

}  // namespace

Rope::Rope(const RopeParams& p) : p_(p) {
  if (p.dim <= 0 || p.dim % 2) fail("rope dimension {} must be positive and even", p.dim);
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id.fetch_add(1, std::memory_order_relaxed);
  const int64_t half = p.dim / 2;
  inv_freq_.resize(size_t(half));
  double low = 0, high = 0;
  if (p.yarn) {
    low = std::max(0.0, std::floor(correction_dim(p.beta_fast, double(p.dim), p.theta,
                                                  double(p.original_max_position_embeddings))));
    high = std::min(double(p.dim - 1), std::ceil(correction_dim(p.beta_slow, double(p.dim), p.theta,
                                                                double(p.original_max_position_embeddings))));
    if (low == high) high += 0.001;
  }
  for (int64_t i = 0; i < half; ++i) {
    // Like the reference implementations: exponent in f32, frequency rounded to f32.
    const float expo = float(2 * i) / float(p.dim);
    const float extra = float(1.0 / std::pow(p.theta, double(expo)));
    if (!p.yarn) {
      inv_freq_[size_t(i)] = extra;
      continue;
    }
    const float inter = float(1.0 / (p.factor * std::pow(p.theta, double(expo))));
    // Low dims (fast rotations) keep their frequency; high dims are interpolated by `factor`.
    const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
    const double keep = 1.0 - ramp;
    inv_freq_[size_t(i)] = float(inter * (1.0 - keep) + extra * keep);
  }
}

void Rope::apply(float* x, int64_t count, int64_t stride, int64_t pos) const {
  const int64_t half = p_.dim / 2;
  // The cos/sin of the last position, per thread: every layer of a decode step rotates q and k
  // at the same position, and the sin/cos calls were most of this function's time.
  struct Table {
    uint64_t id = 0;
    int64_t pos = -1;
    std::vector<float> c, s;
  };
  static thread_local Table table;
  if (table.id != id_ || table.pos != pos || int64_t(table.c.size()) != half) {
    table.c.resize(size_t(half));
    table.s.resize(size_t(half));
    for (int64_t i = 0; i < half; ++i) {
      const float angle = float(pos) * inv_freq_[size_t(i)];
      table.c[size_t(i)] = float(std::cos(double(angle)) * p_.mult);
      table.s[size_t(i)] = float(std::sin(double(angle)) * p_.mult);
    }
    table.id = id_;
    table.pos = pos;
  }
  const float* c = table.c.data();
  const float* s = table.s.data();
  for (int64_t v = 0; v < count; ++v) {
    float* xv = x + v * stride;
    for (int64_t i = 0; i < half; ++i) {
      float* a = p_.layout == RopeLayout::Half ? xv + i : xv + 2 * i;
      float* b = p_.layout == RopeLayout::Half ? xv + i + half : xv + 2 * i + 1;
      const float x0 = *a, x1 = *b;
      *a = x0 * c[i] - x1 * s[i];
      *b = x1 * c[i] + x0 * s[i];
    }
  }
}

}  // namespace sputnik
