#include "train/moe.h"

#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "train/balance_loss.h"
#include "train/grain.h"
#include "train/linear.h"

namespace sputnik::train {

std::vector<int64_t> MoeActs::load() const {
  std::vector<int64_t> n(slots.size());
  for (size_t e = 0; e < slots.size(); ++e) n[e] = int64_t(slots[e].size());
  return n;
}

void moe_forward(const MoeWeights& w, const float* x, int64_t T, float* out, MoeActs& a) {
  const RouterSpec& r = w.router;
  check_router_spec(r);
  const int64_t E = r.n_experts, K = r.top_k, C = w.C;
  if (int64_t(w.experts.size()) != E) fail("moe: {} expert weight sets for {} experts", w.experts.size(), E);
  a.logits.resize(size_t(T * E));
  a.scores.resize(size_t(T * E));
  a.weights.resize(size_t(T * K));
  a.idx.resize(size_t(T * K));
  linear_forward(a.logits.data(), x, w.gate, nullptr, T, C, E);
  router_forward(r, a.logits.data(), w.gate_bias, T, a.scores.data(), a.idx.data(), a.weights.data());

  a.slots.assign(size_t(E), {});
  for (int64_t s = 0; s < T * K; ++s) a.slots[size_t(a.idx[size_t(s)])].push_back(s);
  a.xin.resize(static_cast<size_t>(E));
  a.yout.resize(static_cast<size_t>(E));
  a.expert_acts.resize(static_cast<size_t>(E));

  if (w.shared.F > 0) {
    mlp_forward(w.shared, x, T, out, a.shared_acts);
  } else {
    std::fill(out, out + T * C, 0.0f);
  }
  for (int64_t e = 0; e < E; ++e) {
    const auto& slots = a.slots[size_t(e)];
    const int64_t n = int64_t(slots.size());
    auto& xin = a.xin[size_t(e)];
    auto& y = a.yout[size_t(e)];
    xin.resize(size_t(n * C));
    y.resize(size_t(n * C));
    if (n == 0) continue;
    parallel_for(n, row_grain(C), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        std::copy(x + (slots[size_t(i)] / K) * C, x + (slots[size_t(i)] / K + 1) * C, xin.begin() + i * C);
    });
    mlp_forward(w.experts[size_t(e)], xin.data(), n, y.data(), a.expert_acts[size_t(e)]);
    // Experts run one after another and an expert's slots are distinct tokens (top-k picks
    // distinct experts), so rows of this scatter never collide.
    parallel_for(n, row_grain(C), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const int64_t s = slots[size_t(i)];
        const float wt = a.weights[size_t(s)];
        float* o = out + (s / K) * C;
        const float* yi = y.data() + i * C;
        for (int64_t c = 0; c < C; ++c) o[c] += wt * yi[c];
      }
    });
  }
}

void moe_backward(const MoeWeights& w, const MoeGrads& g, const float* x, int64_t T, const float* dout,
                  const MoeActs& a, float* dx, const MoeBalance& balance) {
  const RouterSpec& r = w.router;
  const int64_t E = r.n_experts, K = r.top_k, C = w.C;
  if (w.shared.F > 0) mlp_backward(w.shared, g.shared, x, T, dout, a.shared_acts, dx);

  std::vector<float> dweights(size_t(T * K), 0.0f);
  std::vector<float> dy, dxin;
  for (int64_t e = 0; e < E; ++e) {
    const auto& slots = a.slots[size_t(e)];
    const int64_t n = int64_t(slots.size());
    if (n == 0) continue;
    const auto& y = a.yout[size_t(e)];
    dy.resize(size_t(n * C));  // every element written below
    dxin.assign(size_t(n * C), 0.0f);
    parallel_for(n, row_grain(2 * C), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const int64_t s = slots[size_t(i)];
        const float* go = dout + (s / K) * C;
        const float* yi = y.data() + i * C;
        const float wt = a.weights[size_t(s)];
        double dot = 0;
        for (int64_t c = 0; c < C; ++c) {
          dot += double(go[c]) * yi[c];
          dy[size_t(i * C + c)] = wt * go[c];
        }
        dweights[size_t(s)] = float(dot);
      }
    });
    mlp_backward(w.experts[size_t(e)], g.experts[size_t(e)], a.xin[size_t(e)].data(), n, dy.data(),
                 a.expert_acts[size_t(e)], dxin.data());
    if (dx) {
      // Distinct tokens per expert, as in the forward scatter.
      parallel_for(n, row_grain(C), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float* d = dx + (slots[size_t(i)] / K) * C;
          const float* di = dxin.data() + i * C;
          for (int64_t c = 0; c < C; ++c) d[c] += di[c];
        }
      });
    }
  }
  std::vector<float> dlogits(size_t(T * E), 0.0f);
  router_backward(r, dlogits.data(), dweights.data(), a.scores.data(), a.idx.data(), T);
  if (balance.weight != 0.0f) {
    if (balance.seq_len <= 0 || T % balance.seq_len != 0)
      fail("moe: {} tokens are not whole sequences of {}", T, balance.seq_len);
    seq_balance_backward(r, dlogits.data(), a.scores.data(), a.idx.data(), T / balance.seq_len, balance.seq_len,
                         balance.weight);
  }
  linear_backward(dx, g.gate, nullptr, dlogits.data(), x, w.gate, T, C, E);
}

}  // namespace sputnik::train
