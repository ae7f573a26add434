#include "train/swiglu.h"

#include <cmath>

#include "core/cpu.h"
#include "core/threads.h"
#include "train/elementwise.h"
#include "train/fast_exp.h"
#include "train/grain.h"
#include "train/linear.h"

namespace sputnik::train {

void swiglu_forward(float* h, const float* gate, const float* up, int64_t n) {
  const bool avx512 = active_isa() == Isa::Avx512;
  parallel_for(n, kMinWorkPerChunk / 16, [&](int64_t lo, int64_t hi) {
    if (avx512) return detail::swiglu_forward_avx512(h, gate, up, lo, hi);
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) {
      const float g = gate[i];
      h[i] = g / (1.0f + fast_exp(-g)) * up[i];
    }
  });
}

void swiglu_backward(float* dgate, float* dup, const float* dh, const float* gate, const float* up,
                     int64_t n) {
  const bool avx512 = active_isa() == Isa::Avx512;
  parallel_for(n, kMinWorkPerChunk / 16, [&](int64_t lo, int64_t hi) {
    if (avx512) return detail::swiglu_backward_avx512(dgate, dup, dh, gate, up, lo, hi);
#pragma omp simd
    for (int64_t i = lo; i < hi; ++i) {
      const float g = gate[i];
      const float sig = 1.0f / (1.0f + fast_exp(-g));
      const float silu = g * sig;
      dup[i] += dh[i] * silu;
      dgate[i] += dh[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
    }
  });
}

void mlp_forward(const MlpWeights& w, const float* x, int64_t T, float* out, MlpActs& a) {
  const size_t n = size_t(T * w.F);
  a.g.resize(n);
  a.u.resize(n);
  a.h.resize(n);
  linear_forward(a.g.data(), x, w.gate, nullptr, T, w.C, w.F);
  linear_forward(a.u.data(), x, w.up, nullptr, T, w.C, w.F);
  swiglu_forward(a.h.data(), a.g.data(), a.u.data(), T * w.F);
  linear_forward(out, a.h.data(), w.down, nullptr, T, w.F, w.C);
}

void mlp_backward(const MlpWeights& w, const MlpGrads& g, const float* x, int64_t T, const float* dout,
                  const MlpActs& a, float* dx) {
  const size_t n = size_t(T * w.F);
  std::vector<float> dh(n, 0.0f), dg(n, 0.0f), du(n, 0.0f);
  linear_backward(dh.data(), g.down, nullptr, dout, a.h.data(), w.down, T, w.F, w.C);
  swiglu_backward(dg.data(), du.data(), dh.data(), a.g.data(), a.u.data(), T * w.F);
  const GemmB xp(false, T, w.C, x, w.C);  // x converted once for both weight gradients
  linear_backward(dx, g.gate, nullptr, dg.data(), xp, w.gate, T, w.C, w.F);
  linear_backward(dx, g.up, nullptr, du.data(), xp, w.up, T, w.C, w.F);
}

}  // namespace sputnik::train
