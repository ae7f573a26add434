#include "kernels/fdot.h"

namespace sputnik::fd {

void row_dot_scalar(DType dt, const void* w, int64_t k, const float* x, int64_t n, float* y, int64_t ldy) {
  const auto* wf = static_cast<const float*>(w);
  const auto* wh = static_cast<const uint16_t*>(w);
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * k;
    float acc = 0.0f;
    for (int64_t j = 0; j < k; ++j) {
      const float wv = dt == DType::F32 ? wf[j] : dt == DType::F16 ? f16_to_f32(wh[j]) : bf16_to_f32(wh[j]);
      acc += wv * xt[j];
    }
    y[t * ldy] = acc;
  }
}

}  // namespace sputnik::fd
