#pragma once
// The SwiGLU feed-forward block: down(silu(gate(x)) * up(x)). Dense layers, each routed expert
// and the shared experts of DeepSeek MoE are all one of these.
#include <string>

#include "models/weights.h"

namespace sputnik {

struct Mlp {
  Linear gate, up, down;
  int64_t inner() const { return gate.out(); }
  int64_t hidden() const { return down.out(); }
  // out[n, hidden] = block(x[n, hidden]); up to 64 tokens go through each projection as one GEMM.
  void operator()(const float* x, int64_t n, float* out) const;
  // Whether a decode team splits this block by its inner rows (down_proj stored in one column
  // panel per rank, models/decode_panels.h): each rank computes its rows of gate and up, their
  // SwiGLU and its panel of down, and team_sum adds the ranks' outputs. No SwiGLU or activation
  // exchange between the ranks, one barrier. The same for every rank (called by all).
  bool splits_decode(int64_t n) const;
  // out[hidden] = block(x[hidden]) on this rank, as described above; all ranks call it.
  void decode_split(const float* x, float* out) const;
};

// y[n, l.out()] += l.bias (no-op without a bias), for products run through matmul_many; only
// rows [begin, end) of each token's output when given (matmul_rows).
void add_bias(const Linear& l, int64_t n, float* y);
void add_bias(const Linear& l, int64_t n, float* y, int64_t begin, int64_t end);

// Loads "<prefix>.gate_proj", "<prefix>.up_proj", "<prefix>.down_proj".
Mlp load_mlp(const WeightStore& ws, const std::string& prefix, int64_t hidden, int64_t inner);

}  // namespace sputnik
