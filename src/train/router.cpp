#include "train/router.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "train/grain.h"

namespace sputnik::train {

namespace {

// Weight multiplier and whether to normalize, per the spec's V2/V3 semantics.
bool normalizes(const RouterSpec& s) { return s.norm_topk_prob && s.top_k > 1; }
float final_scale(const RouterSpec& s) {
  return (s.scale_after_norm || !normalizes(s)) ? s.routed_scaling_factor : 1.0f;
}

// Sorts candidate ids by descending value, ties to the lower id, and keeps the first k.
void top_k(std::vector<int32_t>& ids, const float* value, int64_t k) {
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
    return value[a] > value[b] || (value[a] == value[b] && a < b);
  });
  ids.resize(static_cast<size_t>(k));
}

}  // namespace

void check_router_spec(const RouterSpec& s) {
  if (s.n_experts <= 0) fail("router: n_routed_experts must be positive, got {}", s.n_experts);
  if (s.top_k <= 0 || s.top_k > s.n_experts)
    fail("router: num_experts_per_tok {} must be in [1, {}]", s.top_k, s.n_experts);
  if (s.n_group <= 0 || s.n_experts % s.n_group != 0)
    fail("router: n_group {} does not divide {} experts", s.n_group, s.n_experts);
  if (s.topk_group <= 0 || s.topk_group > s.n_group)
    fail("router: topk_group {} must be in [1, n_group = {}]", s.topk_group, s.n_group);
  if (s.topk_group * (s.n_experts / s.n_group) < s.top_k)
    fail("router: {} groups of {} experts cannot supply top_k = {}", s.topk_group,
         s.n_experts / s.n_group, s.top_k);
}

void router_forward(const RouterSpec& s, const float* logits, const float* bias, int64_t T, float* scores,
                    int32_t* idx, float* weights) {
  check_router_spec(s);
  const int64_t E = s.n_experts, K = s.top_k, G = s.n_group, per = E / G;
  const bool norm = normalizes(s);
  const float scale = final_scale(s);
  parallel_for(T, row_grain(8 * s.n_experts), [&](int64_t lo, int64_t hi) {
    std::vector<float> choice(static_cast<size_t>(E)), gscore(static_cast<size_t>(G)), top(static_cast<size_t>(per));
    std::vector<int32_t> ids;
    for (int64_t t = lo; t < hi; ++t) {
      const float* l = logits + t * E;
      float* sc = scores + t * E;
      if (s.score == RouterScore::Softmax) {
        const float mx = *std::max_element(l, l + E);
        double sum = 0;
        for (int64_t e = 0; e < E; ++e) sum += (sc[e] = std::exp(l[e] - mx));
        for (int64_t e = 0; e < E; ++e) sc[e] = float(sc[e] / sum);
      } else {
        for (int64_t e = 0; e < E; ++e) sc[e] = 1.0f / (1.0f + std::exp(-l[e]));
      }
      for (int64_t e = 0; e < E; ++e) choice[size_t(e)] = sc[e] + (bias ? bias[e] : 0.0f);
      // Groups: keep the topk_group best, mask the rest out of the choice.
      if (G > 1 && s.topk_group < G) {
        for (int64_t g = 0; g < G; ++g) {
          const float* c = choice.data() + g * per;
          if (s.group_score == GroupScore::Max) {
            gscore[size_t(g)] = *std::max_element(c, c + per);
          } else {
            std::copy(c, c + per, top.begin());
            const int64_t n = std::min<int64_t>(2, per);
            std::partial_sort(top.begin(), top.begin() + n, top.end(), std::greater<float>());
            gscore[size_t(g)] = std::accumulate(top.begin(), top.begin() + n, 0.0f);
          }
        }
        ids.resize(static_cast<size_t>(G));
        std::iota(ids.begin(), ids.end(), 0);
        top_k(ids, gscore.data(), s.topk_group);
        std::vector<bool> keep(size_t(G), false);
        for (int32_t g : ids) keep[size_t(g)] = true;
        for (int64_t e = 0; e < E; ++e)
          if (!keep[size_t(e / per)]) choice[size_t(e)] = -std::numeric_limits<float>::infinity();
      }
      ids.resize(static_cast<size_t>(E));
      std::iota(ids.begin(), ids.end(), 0);
      top_k(ids, choice.data(), K);
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        idx[t * K + k] = ids[size_t(k)];
        sum += sc[ids[size_t(k)]];
      }
      const float denom = norm ? float(sum) + 1e-20f : 1.0f;
      for (int64_t k = 0; k < K; ++k) weights[t * K + k] = sc[ids[size_t(k)]] / denom * scale;
    }
  });
}

void router_backward(const RouterSpec& s, float* dlogits, const float* dweights, const float* scores,
                     const int32_t* idx, int64_t T) {
  const int64_t E = s.n_experts, K = s.top_k;
  const bool norm = normalizes(s);
  const float scale = final_scale(s);
  parallel_for(T, row_grain(8 * s.n_experts), [&](int64_t lo, int64_t hi) {
    std::vector<float> dscore(static_cast<size_t>(E));
    for (int64_t t = lo; t < hi; ++t) {
      const float* sc = scores + t * E;
      const float* dw = dweights + t * K;
      const int32_t* id = idx + t * K;
      std::fill(dscore.begin(), dscore.end(), 0.0f);
      if (norm) {
        // w_k = c·p_k / P, P = Σ p_j  =>  dp_k = c·(dw_k − Σ_j dw_j·p_j / P) / P
        double P = 0, dot = 0;
        for (int64_t k = 0; k < K; ++k) {
          P += sc[id[k]];
          dot += double(dw[k]) * sc[id[k]];
        }
        P += 1e-20;
        for (int64_t k = 0; k < K; ++k) dscore[size_t(id[k])] += float(scale * (dw[k] - dot / P) / P);
      } else {
        for (int64_t k = 0; k < K; ++k) dscore[size_t(id[k])] += scale * dw[k];
      }
      float* dl = dlogits + t * E;
      if (s.score == RouterScore::Softmax) {
        double dot = 0;
        for (int64_t e = 0; e < E; ++e) dot += double(dscore[size_t(e)]) * sc[e];
        for (int64_t e = 0; e < E; ++e) dl[e] += sc[e] * (dscore[size_t(e)] - float(dot));
      } else {
        for (int64_t e = 0; e < E; ++e) dl[e] += dscore[size_t(e)] * sc[e] * (1.0f - sc[e]);
      }
    }
  });
}

}  // namespace sputnik::train
