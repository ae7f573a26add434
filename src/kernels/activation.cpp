#include "kernels/activation.h"

#include <algorithm>
#include <cmath>

namespace sputnik {

void swiglu(const float* gate_up, int64_t rows, int64_t dim, float* out) {
  for (int64_t r = 0; r < rows; ++r)
    swiglu(gate_up + r * 2 * dim, gate_up + r * 2 * dim + dim, dim, out + r * dim);
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  const float mx = *std::max_element(x, x + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace sputnik
