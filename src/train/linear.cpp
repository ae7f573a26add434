#include "train/linear.h"

#include "core/threads.h"
#include "train/grain.h"
#include "train/precision.h"

namespace sputnik::train {

void linear_forward(float* out, const float* x, const float* w, const float* b, int64_t T, int64_t C,
                    int64_t OC) {
  gemm_weight(false, true, T, OC, C, 1.0f, x, C, w, C, 0.0f, out, OC);
  if (b) {
    parallel_for(T, row_grain(OC), [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t)
        for (int64_t o = 0; o < OC; ++o) out[t * OC + o] += b[o];
    });
  }
}

void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     int64_t T, int64_t C, int64_t OC) {
  if (dx) gemm_weight(false, false, T, C, OC, 1.0f, dout, OC, w, C, 1.0f, dx, C);
  if (dw) gemm(true, false, OC, C, T, 1.0f, dout, OC, x, C, 1.0f, dw, C);
  if (db) {
    parallel_for(OC, col_grain(T), [&](int64_t lo, int64_t hi) {
      for (int64_t t = 0; t < T; ++t)
        for (int64_t o = lo; o < hi; ++o) db[o] += dout[t * OC + o];
    });
  }
}

}  // namespace sputnik::train
