// Portable reference of the canonical integer dot (qgemm.h), also the path SPUTNIK_ISA=scalar.
#include "kernels/qgemm.h"

namespace sputnik::qg {

void dot_rows_scalar(const Rows& r, const Acts& a, float* y, int64_t ldy) {
  const int64_t kp = r.kp;
  for (int64_t t = 0; t < a.n; ++t) {
    const int8_t* xq = a.q.data() + t * kp;
    const float* xl = a.lane_scale.data() + t * kp / 4;
    const float* gs = a.group_sum.data() + t * a.ng;
    for (int64_t i = 0; i < r.count; ++i) {
      const int8_t* wq = r.q.data() + i * kp;
      const float* wl = r.lane_scale.data() + i * kp / 4;
      const float* bias = r.bias.data() + i * r.ng;
      float acc = 0.0f;
      for (int64_t l = 0; l < kp / 4; ++l) {
        int32_t dot = 0;
        for (int j = 0; j < 4; ++j) {
          const int wv = r.offset128 ? int(uint8_t(wq[4 * l + j])) - 128 : int(wq[4 * l + j]);
          dot += wv * xq[4 * l + j];
        }
        acc += float(dot) * (wl[l] * xl[l]);
      }
      if (r.has_bias)
        for (int64_t g = 0; g < r.ng; ++g) acc += bias[g] * gs[g];
      y[t * ldy + i] = acc;
    }
  }
}

}  // namespace sputnik::qg
