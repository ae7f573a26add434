#include "models/mlp.h"

#include <vector>

#include "kernels/activation.h"

namespace sputnik {

void Mlp::operator()(const float* x, int64_t n, float* out) const {
  const int64_t f = inner();
  std::vector<float> g(size_t(n * f)), u(size_t(n * f));
  gate(x, n, g.data());
  up(x, n, u.data());
  swiglu(g.data(), u.data(), n * f, g.data());
  down(g.data(), n, out);
}

Mlp load_mlp(const WeightStore& ws, const std::string& prefix, int64_t hidden, int64_t inner) {
  return Mlp{load_linear(ws, prefix + ".gate_proj", inner, hidden),
             load_linear(ws, prefix + ".up_proj", inner, hidden),
             load_linear(ws, prefix + ".down_proj", hidden, inner)};
}

}  // namespace sputnik
