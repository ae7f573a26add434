#pragma once
// RMSNorm over rows: y = x / sqrt(mean(x^2) + eps) * w. `y` may alias `x`.
#include <cstdint>

namespace sputnik {

void rms_norm(const float* x, const float* w, int64_t rows, int64_t dim, float eps, float* y,
              int64_t x_stride = -1, int64_t y_stride = -1);

}  // namespace sputnik
