#include "train/balance_loss.h"

#include <vector>

#include "core/error.h"

namespace sputnik::train {

namespace {

// f_i of one sequence: N_r / (K_r·T) times how many of its tokens chose expert i.
void expert_fraction(const RouterSpec& r, const int32_t* idx, int64_t S, std::vector<double>& f) {
  const int64_t E = r.n_experts, K = r.top_k;
  f.assign(size_t(E), 0.0);
  for (int64_t t = 0; t < S * K; ++t) f[size_t(idx[t])] += 1.0;
  const double k = double(E) / (double(K) * double(S));
  for (double& v : f) v *= k;
}

double score_sum(const float* s, int64_t E) {
  double sum = 0;
  for (int64_t e = 0; e < E; ++e) sum += s[e];
  return sum;
}

void check(int64_t n_seq, int64_t S) {
  if (n_seq <= 0 || S <= 0) fail("balance loss: empty batch [{}, {}]", n_seq, S);
}

}  // namespace

float seq_balance_forward(const RouterSpec& r, const float* scores, const int32_t* idx, int64_t n_seq,
                          int64_t S) {
  check(n_seq, S);
  const int64_t E = r.n_experts, K = r.top_k;
  std::vector<double> f, P(static_cast<size_t>(E));
  double total = 0;
  for (int64_t b = 0; b < n_seq; ++b) {
    expert_fraction(r, idx + b * S * K, S, f);
    std::fill(P.begin(), P.end(), 0.0);
    for (int64_t t = b * S; t < (b + 1) * S; ++t) {
      const float* s = scores + t * E;
      const double inv = 1.0 / score_sum(s, E);
      for (int64_t e = 0; e < E; ++e) P[size_t(e)] += s[e] * inv;
    }
    for (int64_t e = 0; e < E; ++e) total += f[size_t(e)] * P[size_t(e)] / double(S);
  }
  return float(total / double(n_seq));
}

void seq_balance_backward(const RouterSpec& r, float* dlogits, const float* scores, const int32_t* idx,
                          int64_t n_seq, int64_t S, float dloss) {
  check(n_seq, S);
  const int64_t E = r.n_experts, K = r.top_k;
  std::vector<double> f, ds(static_cast<size_t>(E));
  for (int64_t b = 0; b < n_seq; ++b) {
    expert_fraction(r, idx + b * S * K, S, f);
    // d/ds'_{i,t} = c·f_i with c = dloss / (n_seq·T).
    const double c = double(dloss) / (double(n_seq) * double(S));
    for (int64_t t = b * S; t < (b + 1) * S; ++t) {
      const float* s = scores + t * E;
      const double sum = score_sum(s, E);
      // s'_i = s_i / Σ s  =>  ds_j = (g_j − Σ_i g_i s'_i) / Σ s, g_i = c·f_i
      double dot = 0;
      for (int64_t e = 0; e < E; ++e) dot += c * f[size_t(e)] * s[e] / sum;
      for (int64_t e = 0; e < E; ++e) ds[size_t(e)] = (c * f[size_t(e)] - dot) / sum;
      float* dl = dlogits + t * E;
      if (r.score == RouterScore::Softmax) {
        double sd = 0;
        for (int64_t e = 0; e < E; ++e) sd += ds[size_t(e)] * s[e];
        for (int64_t e = 0; e < E; ++e) dl[e] += float(s[e] * (ds[size_t(e)] - sd));
      } else {
        for (int64_t e = 0; e < E; ++e) dl[e] += float(ds[size_t(e)] * s[e] * (1.0 - s[e]));
      }
    }
  }
}

}  // namespace sputnik::train
