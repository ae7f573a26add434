#include "models/mlp.h"

#include <algorithm>
#include <vector>

#include "core/scratch.h"
#include "core/team.h"
#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "models/decode_panels.h"

namespace sputnik {

void Mlp::operator()(const float* x, int64_t n, float* out) const {
  // A long prompt goes through in slices: the MLP's intermediates are the largest working memory
  // of a prefill, and peak RSS should stay within 10% of the weights (issue 2, point 7). Without
  // biases, gate and up go through matmul_swiglu, which needs only the SwiGLU output h (ffn
  // floats per token; 2.5 MB for 128 tokens of Qwen2.5-0.5B): 128 tokens per slice in the memory
  // that 64 took with separate gate and up outputs, and the weights unpacked half as often.
  const bool fused = gate.bias.empty() && up.bias.empty();
  const int64_t slice = fused ? 128 : 64;
  const int64_t f = inner();
  const int64_t rows = std::min(n, slice);
  ScratchLease scratch(size_t((fused ? 1 : 2) * rows * f));
  float* g = scratch.take(size_t(rows * f));
  float* u = fused ? nullptr : scratch.take(size_t(rows * f));
  for (int64_t t0 = 0; t0 < n; t0 += slice) {
    const int64_t m = std::min(slice, n - t0);
    const float* xs = x + t0 * hidden();
    if (fused) {
      matmul_swiglu(gate.w, up.w, xs, m, g);
    } else {
      // Gate and up share their input: one parallel region for both at decode.
      const MatmulJob jobs[2] = {{&gate.w, xs, m, g}, {&up.w, xs, m, u}};
      matmul_many(jobs, 2);
      add_bias(gate, m, g);
      add_bias(up, m, u);
      swiglu(g, u, m * f, g);
    }
    down(g, m, out + t0 * hidden());
  }
}

bool Mlp::splits_decode(int64_t n) const {
  if (!in_team() || n != 1 || down.panels.size() != size_t(team_size()) || !gate.bias.empty() || !up.bias.empty() ||
      !down.bias.empty() || inner() % (16 * team_size()) != 0)
    return false;
  const MatmulJob jobs[3] = {
      {&gate.w, nullptr, 1, nullptr}, {&up.w, nullptr, 1, nullptr}, {&down.panels[0], nullptr, 1, nullptr}};
  return matmul_rows_applies(jobs[0]) && matmul_rows_applies(jobs[1]) && matmul_rows_applies(jobs[2]);
}

void Mlp::decode_split(const float* x, float* out) const {
  const int64_t f = inner(), d = hidden(), r = team_rank(), ranks = team_size();
  const int64_t begin = f * r / ranks, end = f * (r + 1) / ranks;
  // Whole-width buffers: matmul_rows writes row o at [o]. Only [begin, end) is touched.
  ScratchLease scratch(size_t(2 * f + d));
  float* g = scratch.take(size_t(f));
  float* u = scratch.take(size_t(f));
  float* y = scratch.take(size_t(d));
  const MatmulJob inner_jobs[2] = {{&gate.w, x, 1, g}, {&up.w, x, 1, u}};
  const RowRange mine[2] = {{begin, end}, {begin, end}};
  matmul_rows(inner_jobs, mine, 2);
  swiglu(g + begin, u + begin, end - begin, g + begin);
  const MatmulJob down_job{&down.panels[size_t(r)], g + begin, 1, y};
  const RowRange all{0, d};
  matmul_rows(&down_job, &all, 1);
  team_sum(y, d, out);
  count_decode_split();
}

void add_bias(const Linear& l, int64_t n, float* y) { add_bias(l, n, y, 0, l.out()); }

void add_bias(const Linear& l, int64_t n, float* y, int64_t begin, int64_t end) {
  if (l.bias.empty()) return;
  const int64_t o = l.out();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = begin; i < end; ++i) y[t * o + i] += l.bias[size_t(i)];
}

Mlp load_mlp(const WeightStore& ws, const std::string& prefix, int64_t hidden, int64_t inner) {
  return Mlp{load_linear(ws, prefix + ".gate_proj", inner, hidden),
             load_linear(ws, prefix + ".up_proj", inner, hidden),
             load_linear(ws, prefix + ".down_proj", hidden, inner)};
}

}  // namespace sputnik
