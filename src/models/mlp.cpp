#include "models/mlp.h"

#include <vector>

#include "kernels/activation.h"
#include "kernels/matmul.h"

namespace sputnik {

void Mlp::operator()(const float* x, int64_t n, float* out) const {
  const int64_t f = inner();
  // Reused across calls: fresh multi-MiB vectors per layer of a prefill cost page faults.
  static thread_local std::vector<float> g_storage, u_storage;
  std::vector<float>& g = g_storage;
  std::vector<float>& u = u_storage;
  if (g.size() < size_t(n * f)) {
    g.resize(size_t(n * f));
    u.resize(size_t(n * f));
  }
  // Gate and up share their input: one parallel region for both at decode.
  const MatmulJob jobs[2] = {{&gate.w, x, n, g.data()}, {&up.w, x, n, u.data()}};
  matmul_many(jobs, 2);
  add_bias(gate, n, g.data());
  add_bias(up, n, u.data());
  swiglu(g.data(), u.data(), n * f, g.data());
  down(g.data(), n, out);
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
