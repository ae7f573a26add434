#include "models/mlp.h"

#include <algorithm>
#include <vector>

#include "core/scratch.h"
#include "kernels/activation.h"
#include "kernels/matmul.h"

namespace sputnik {

void Mlp::operator()(const float* x, int64_t n, float* out) const {
  // A long prompt goes through in slices of kRows tokens: the gate/up intermediates (2·ffn
  // floats per token, 20 MB for 512 tokens of Qwen2.5-0.5B) are the largest working memory of a
  // prefill, and peak RSS should stay within 10% of the weights (issue 2, point 7). Each slice is
  // still a GEMM large enough for the integer kernel's tiles (64 rows: −3 MiB of peak RSS against 128
  // on the 0.5B Q4_0 shape for ~3% of prefill speed).
  constexpr int64_t kRows = 64;
  const int64_t f = inner();
  const int64_t rows = std::min(n, kRows);
  ScratchLease scratch(size_t(2 * rows * f));
  float* g = scratch.take(size_t(rows * f));
  float* u = scratch.take(size_t(rows * f));
  for (int64_t t0 = 0; t0 < n; t0 += kRows) {
    const int64_t m = std::min(kRows, n - t0);
    const float* xs = x + t0 * hidden();
    // Gate and up share their input: one parallel region for both at decode.
    const MatmulJob jobs[2] = {{&gate.w, xs, m, g}, {&up.w, xs, m, u}};
    matmul_many(jobs, 2);
    add_bias(gate, m, g);
    add_bias(up, m, u);
    swiglu(g, u, m * f, g);
    down(g, m, out + t0 * hidden());
  }
}

void add_bias(const Linear& l, int64_t n, float* y) {
  if (l.bias.empty()) return;
  const int64_t o = l.out();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < o; ++i) y[t * o + i] += l.bias[size_t(i)];
}

Mlp load_mlp(const WeightStore& ws, const std::string& prefix, int64_t hidden, int64_t inner) {
  return Mlp{load_linear(ws, prefix + ".gate_proj", inner, hidden),
             load_linear(ws, prefix + ".up_proj", inner, hidden),
             load_linear(ws, prefix + ".down_proj", hidden, inner)};
}

}  // namespace sputnik
