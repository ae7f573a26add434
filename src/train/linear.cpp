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

namespace {

// dW += doutᵀ·x through `dw_product`, the rest as linear_backward documents.
template <typename DwProduct>
void backward(float* dx, float* dw, float* db, const float* dout, DwProduct&& dw_product, const float* w, int64_t T,
              int64_t C, int64_t OC) {
  if (dx) gemm_weight(false, false, T, C, OC, 1.0f, dout, OC, w, C, 1.0f, dx, C);
  if (dw) dw_product();
  if (db) {
    parallel_for(OC, col_grain(T), [&](int64_t lo, int64_t hi) {
      for (int64_t t = 0; t < T; ++t)
        for (int64_t o = lo; o < hi; ++o) db[o] += dout[t * OC + o];
    });
  }
}

}  // namespace

void linear_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                     int64_t T, int64_t C, int64_t OC) {
  backward(
      dx, dw, db, dout, [&] { gemm(true, false, OC, C, T, 1.0f, dout, OC, x, C, 1.0f, dw, C); }, w, T, C, OC);
}

void linear_backward(float* dx, float* dw, float* db, const float* dout, const GemmB& x_packed, const float* w,
                     int64_t T, int64_t C, int64_t OC) {
  backward(
      dx, dw, db, dout, [&] { x_packed.multiply(true, OC, C, 0, T, 1.0f, dout, OC, 1.0f, dw, C); }, w, T, C, OC);
}

}  // namespace sputnik::train
