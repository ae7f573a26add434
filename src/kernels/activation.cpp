#include "kernels/activation.h"

#include <algorithm>

#include "core/cpu.h"
#include "core/threads.h"
#include "kernels/activation_loops.h"

namespace sputnik {
namespace {

// Below this many values a parallel region costs more than the loop.
constexpr int64_t kParallelMin = 1 << 14;

void swiglu_span(const float* gate, const float* up, int64_t n, float* out) {
  if (active_isa() == Isa::Avx512) return act::swiglu_avx512(gate, up, n, out);
  act::swiglu_loop(gate, up, n, out);
}

}  // namespace

void swiglu(const float* gate_up, int64_t rows, int64_t dim, float* out) {
  const auto rows_of = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) swiglu_span(gate_up + r * 2 * dim, gate_up + r * 2 * dim + dim, dim, out + r * dim);
  };
  if (rows * dim < kParallelMin) return rows_of(0, rows);
  parallel_for(rows, 1, rows_of);
}

void swiglu(const float* gate, const float* up, int64_t n, float* out) {
  if (n < kParallelMin) return swiglu_span(gate, up, n, out);
  // 16-value chunks: threads never write the same cache line.
  parallel_for(n, 16, [&](int64_t b, int64_t e) { swiglu_span(gate + b, up + b, e - b, out + b); });
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  if (active_isa() == Isa::Avx512) return act::softmax_avx512(x, n);
  const float mx = *std::max_element(x, x + n);
  act::exp_shifted_loop(x, n, mx);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float inv = float(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace sputnik
