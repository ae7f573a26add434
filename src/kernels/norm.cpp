#include "kernels/norm.h"

#include <cmath>

namespace sputnik {

void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y,
              int64_t x_stride, int64_t y_stride) {
  if (x_stride < 0) x_stride = dim;
  if (y_stride < 0) y_stride = dim;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * x_stride;
    float* yr = y + r * y_stride;
    // Sum of squares in double: the reference computes it in f32 too, but the order differs, and
    // double keeps our side of the comparison the accurate one.
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(xr[i]) * xr[i];
    const float inv = float(1.0 / std::sqrt(ss / double(dim) + double(eps)));
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * w[i];
  }
}

}  // namespace sputnik
