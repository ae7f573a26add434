#include "train/rmsnorm.h"

#include <cmath>

#include "core/threads.h"
#include "train/grain.h"

namespace sputnik::train {

void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int64_t T, int64_t C,
                     float eps) {
  parallel_for(T, row_grain(3 * C), [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const float* xr = x + t * C;
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += double(xr[c]) * xr[c];
      const float r = 1.0f / std::sqrt(float(ss / double(C)) + eps);
      rstd[t] = r;
      float* o = out + t * C;
      for (int64_t c = 0; c < C; ++c) o[c] = xr[c] * r * w[c];
    }
  });
}

void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t T, int64_t C) {
  if (dx) {
    parallel_for(T, row_grain(3 * C), [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const float* xr = x + t * C;
        const float* g = dout + t * C;
        const float r = rstd[t];
        // d/dx of x·r(x): r·(dy·w) − x·r³·mean(dy·w·x)
        double dot = 0;
        for (int64_t c = 0; c < C; ++c) dot += double(g[c]) * w[c] * xr[c];
        const float k = float(dot / double(C)) * r * r * r;
        float* d = dx + t * C;
        for (int64_t c = 0; c < C; ++c) d[c] += g[c] * w[c] * r - xr[c] * k;
      }
    });
  }
  if (dw) {
    parallel_for(C, col_grain(T), [&](int64_t b, int64_t e) {
      for (int64_t t = 0; t < T; ++t) {
        const float* xr = x + t * C;
        const float* g = dout + t * C;
        const float r = rstd[t];
        for (int64_t c = b; c < e; ++c) dw[c] += g[c] * xr[c] * r;
      }
    });
  }
}

}  // namespace sputnik::train
