#include "train/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "train/elementwise.h"
#include "train/fast_exp.h"
#include "train/grain.h"

namespace sputnik::train {

namespace {

int64_t count_valid(const int32_t* targets, int64_t T, int64_t V, int32_t ignore_index) {
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) {
    if (targets[t] == ignore_index) continue;
    if (targets[t] < 0 || targets[t] >= V)
      fail("cross_entropy: target {} at position {} is outside the vocabulary [0, {})", targets[t], t, V);
    ++n;
  }
  return n;
}

}  // namespace

float cross_entropy_forward(float* lse, const float* logits, const int32_t* targets, int64_t T, int64_t V,
                            int32_t ignore_index) {
  const int64_t n = count_valid(targets, T, V, ignore_index);
  const bool avx512 = active_isa() == Isa::Avx512;
  parallel_for(T, row_grain(4 * V), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      const float* l = logits + t * V;
      if (avx512) {
        lse[t] = detail::logsumexp_avx512(l, V);
        continue;
      }
      float mx = l[0];
#pragma omp simd reduction(max : mx)
      for (int64_t v = 0; v < V; ++v) mx = std::max(mx, l[v]);
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t v = 0; v < V; ++v) sum += fast_exp(l[v] - mx);
      lse[t] = mx + std::log(sum);
    }
  });
  if (n == 0) return 0.0f;
  double total = 0;
  for (int64_t t = 0; t < T; ++t)
    if (targets[t] != ignore_index) total += double(lse[t]) - logits[t * V + targets[t]];
  return float(total / double(n));
}

void cross_entropy_backward(float* dlogits, const float* logits, const float* lse, const int32_t* targets,
                            int64_t T, int64_t V, float dloss, int32_t ignore_index) {
  const int64_t n = count_valid(targets, T, V, ignore_index);
  if (n == 0) return;
  const float k = dloss / float(n);
  const bool avx512 = active_isa() == Isa::Avx512;
  parallel_for(T, row_grain(4 * V), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      if (targets[t] == ignore_index) continue;
      const float* l = logits + t * V;
      float* d = dlogits + t * V;
      const float m = lse[t];
      if (avx512) {
        detail::scaled_softmax_avx512(d, l, V, m, k, true);
      } else {
#pragma omp simd
        for (int64_t v = 0; v < V; ++v) d[v] += k * fast_exp(l[v] - m);
      }
      d[targets[t]] -= k;
    }
  });
}

void cross_entropy_backward_inplace(float* logits, const float* lse, const int32_t* targets, int64_t T, int64_t V,
                                    float dloss, int32_t ignore_index) {
  const int64_t n = count_valid(targets, T, V, ignore_index);
  const float k = n ? dloss / float(n) : 0.0f;
  const bool avx512 = active_isa() == Isa::Avx512;
  parallel_for(T, row_grain(4 * V), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      float* l = logits + t * V;
      if (targets[t] == ignore_index || n == 0) {
        std::fill(l, l + V, 0.0f);
        continue;
      }
      const float m = lse[t];
      if (avx512) {
        detail::scaled_softmax_avx512(l, l, V, m, k, false);
      } else {
#pragma omp simd
        for (int64_t v = 0; v < V; ++v) l[v] = k * fast_exp(l[v] - m);
      }
      l[targets[t]] -= k;
    }
  });
}

}  // namespace sputnik::train
