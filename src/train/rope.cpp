#include "train/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/threads.h"
#include "train/grain.h"

namespace sputnik::train {

namespace {

// The dimension at which a frequency makes `rotations` full turns over the original context.
double correction_dim(double rotations, int64_t dim, double base, int64_t max_pos) {
  return double(dim) * std::log(double(max_pos) / (rotations * 2.0 * std::numbers::pi)) /
         (2.0 * std::log(base));
}

// sign < 0 rotates backwards (the transpose of the rotation).
void apply(const RopeTable& rope, float* x, const int32_t* pos, int64_t T, int64_t heads,
           int64_t head_stride, int64_t offset, float sign) {
  const int64_t half = rope.rot_dim / 2;
  parallel_for(T, row_grain(heads * rope.rot_dim * 2), [&](int64_t b, int64_t e) {
    std::vector<float> cs(size_t(half) * 2);
    for (int64_t t = b; t < e; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        // Angle in f32 like the HF reference (pos·inv_freq as a float product).
        const float angle = float(pos[t]) * rope.inv_freq[size_t(i)];
        cs[size_t(2 * i)] = float(std::cos(double(angle))) * rope.scale;
        cs[size_t(2 * i + 1)] = sign * float(std::sin(double(angle))) * rope.scale;
      }
      for (int64_t h = 0; h < heads; ++h) {
        float* v = x + (t * heads + h) * head_stride + offset;
        for (int64_t i = 0; i < half; ++i) {
          float* a = rope.interleaved ? v + 2 * i : v + i;
          float* c = rope.interleaved ? v + 2 * i + 1 : v + i + half;
          const float co = cs[size_t(2 * i)], si = cs[size_t(2 * i + 1)];
          const float x0 = *a, x1 = *c;
          *a = x0 * co - x1 * si;
          *c = x1 * co + x0 * si;
        }
      }
    }
  });
}

}  // namespace

double yarn_mscale(double factor, double mscale) {
  return factor <= 1.0 ? 1.0 : 0.1 * mscale * std::log(factor) + 1.0;
}

RopeTable make_rope_table(int64_t rot_dim, bool interleaved, double theta, const YarnParams& yarn,
                          float scale) {
  if (rot_dim <= 0 || rot_dim % 2 != 0) fail("rope: rotary dimension {} must be even and positive", rot_dim);
  if (!(theta > 1.0)) fail("rope: theta {} must be > 1", theta);
  RopeTable r;
  r.rot_dim = rot_dim;
  r.interleaved = interleaved;
  r.scale = scale;
  const int64_t half = rot_dim / 2;
  r.inv_freq.resize(static_cast<size_t>(half));
  double low = 0, high = 0;
  if (yarn.factor > 1.0) {
    low = std::max(0.0, std::floor(correction_dim(yarn.beta_fast, rot_dim, theta, yarn.original_max_position)));
    high = std::min(double(rot_dim - 1),
                    std::ceil(correction_dim(yarn.beta_slow, rot_dim, theta, yarn.original_max_position)));
    if (low == high) high += 0.001;  // avoid a zero-width ramp
  }
  for (int64_t i = 0; i < half; ++i) {
    const double extra = 1.0 / std::pow(theta, double(2 * i) / double(rot_dim));
    double f = extra;
    if (yarn.factor > 1.0) {
      // ramp 0 below `low` keeps the original (extrapolated) frequency; 1 above `high` interpolates.
      const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
      const double keep = 1.0 - ramp;
      f = (extra / yarn.factor) * (1.0 - keep) + extra * keep;
    }
    r.inv_freq[size_t(i)] = float(f);
  }
  return r;
}

void rope_forward(const RopeTable& rope, float* x, const int32_t* pos, int64_t T, int64_t heads,
                  int64_t head_stride, int64_t offset) {
  apply(rope, x, pos, T, heads, head_stride, offset, 1.0f);
}

void rope_backward(const RopeTable& rope, float* dx, const int32_t* pos, int64_t T, int64_t heads,
                   int64_t head_stride, int64_t offset) {
  apply(rope, dx, pos, T, heads, head_stride, offset, -1.0f);
}

}  // namespace sputnik::train
