#include "kernels/attention.h"

#include <cstring>

#include "kernels/activation.h"

namespace sputnik {

void attend(const float* q, int64_t dk, const float* k, int64_t k_stride, const float* v,
            int64_t v_stride, int64_t dv, int64_t n_keys, float scale, float* scratch, float* out) {
  for (int64_t j = 0; j < n_keys; ++j) {
    const float* kj = k + j * k_stride;
    float dot = 0;
    for (int64_t d = 0; d < dk; ++d) dot += q[d] * kj[d];
    scratch[j] = dot * scale;
  }
  softmax(scratch, n_keys);
  std::memset(out, 0, size_t(dv) * sizeof(float));
  for (int64_t j = 0; j < n_keys; ++j) {
    const float p = scratch[j];
    const float* vj = v + j * v_stride;
    for (int64_t d = 0; d < dv; ++d) out[d] += p * vj[d];
  }
}

}  // namespace sputnik
