// MoE router and the whole MoE layer: selection semantics and gradients.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "gradcheck.h"
#include "train/balance_loss.h"
#include "train/linear.h"
#include "train/moe.h"
#include "train/router.h"

namespace sputnik::train {
namespace {

using testing::dot;
using testing::expect_grad;
using testing::randn;

struct RouterCase {
  const char* name;
  RouterSpec spec;
  bool bias;
};

std::vector<RouterCase> cases() {
  return {
      {"v2_softmax_greedy", {.n_experts = 6, .top_k = 2, .score = RouterScore::Softmax, .routed_scaling_factor = 1.5f, .scale_after_norm = false}, false},
      {"v2_softmax_group_norm", {.n_experts = 8, .top_k = 3, .n_group = 4, .topk_group = 2, .score = RouterScore::Softmax,
                                 .group_score = GroupScore::Max, .norm_topk_prob = true, .routed_scaling_factor = 16.0f,
                                 .scale_after_norm = false}, false},
      {"v3_sigmoid_noaux_tc", {.n_experts = 8, .top_k = 3, .n_group = 4, .topk_group = 2, .score = RouterScore::Sigmoid,
                               .group_score = GroupScore::Top2Sum, .norm_topk_prob = true, .routed_scaling_factor = 2.5f}, true},
      {"v3_sigmoid_unnormalized", {.n_experts = 5, .top_k = 2, .score = RouterScore::Sigmoid, .routed_scaling_factor = 2.0f}, true},
  };
}

TEST(Router, GradientThroughChosenWeights) {
  std::mt19937 rng(31);
  const int64_t T = 7;
  for (const auto& c : cases()) {
    const int64_t E = c.spec.n_experts, K = c.spec.top_k;
    auto logits = randn(size_t(T * E), rng, 1.5f);
    auto bias = randn(size_t(E), rng, 0.3f);
    auto r = randn(size_t(T * K), rng);
    std::vector<float> scores(logits.size()), w(size_t(T * K));
    std::vector<int32_t> idx(size_t(T * K)), idx0;
    auto loss = [&] {
      router_forward(c.spec, logits.data(), c.bias ? bias.data() : nullptr, T, scores.data(), idx.data(), w.data());
      // The selection must not flip under the probe, or the difference would not be a derivative.
      if (!idx0.empty()) EXPECT_EQ(idx, idx0) << c.name << ": selection changed under a finite-difference probe";
      return dot(w, r);
    };
    loss();
    idx0 = idx;
    std::vector<float> dl(logits.size(), 0.0f);
    router_backward(c.spec, dl.data(), r.data(), scores.data(), idx.data(), T);
    expect_grad(c.name, logits.data(), dl.data(), logits.size(), loss, rng, {.samples = 40, .eps = 1e-3f, .atol = 1e-3});
  }
}

TEST(Router, BiasSelectsButDoesNotWeight) {
  // Expert 3 has the lowest score but a huge bias: it must be chosen, with its unbiased score.
  RouterSpec s{.n_experts = 4, .top_k = 2, .score = RouterScore::Sigmoid, .routed_scaling_factor = 1.0f};
  const std::vector<float> logits = {2.0f, 1.0f, 0.5f, -1.0f};
  const std::vector<float> bias = {0, 0, 0, 10.0f};
  std::vector<float> scores(4), w(2);
  std::vector<int32_t> idx(2);
  router_forward(s, logits.data(), bias.data(), 1, scores.data(), idx.data(), w.data());
  EXPECT_EQ(idx[0], 3);
  EXPECT_EQ(idx[1], 0);
  EXPECT_FLOAT_EQ(w[0], 1.0f / (1.0f + std::exp(1.0f)));
  EXPECT_FLOAT_EQ(w[1], 1.0f / (1.0f + std::exp(-2.0f)));
}

TEST(Router, GroupLimitAndScaling) {
  std::mt19937 rng(32);
  RouterSpec s{.n_experts = 16, .top_k = 4, .n_group = 4, .topk_group = 2, .score = RouterScore::Sigmoid,
               .group_score = GroupScore::Top2Sum, .norm_topk_prob = true, .routed_scaling_factor = 2.5f};
  const int64_t T = 50;
  auto logits = randn(size_t(T * 16), rng, 2.0f);
  std::vector<float> scores(logits.size()), w(size_t(T * 4));
  std::vector<int32_t> idx(size_t(T * 4));
  router_forward(s, logits.data(), nullptr, T, scores.data(), idx.data(), w.data());
  for (int64_t t = 0; t < T; ++t) {
    std::set<int> groups;
    double sum = 0;
    for (int k = 0; k < 4; ++k) {
      groups.insert(idx[size_t(t * 4 + k)] / 4);
      sum += w[size_t(t * 4 + k)];
    }
    EXPECT_LE(groups.size(), 2u);
    EXPECT_NEAR(sum, 2.5, 1e-5);  // normalized, then scaled (V3)
    // The chosen groups are the two with the largest top-2 sums.
    std::vector<std::pair<float, int>> g;
    for (int gi = 0; gi < 4; ++gi) {
      std::vector<float> v(scores.begin() + t * 16 + gi * 4, scores.begin() + t * 16 + gi * 4 + 4);
      std::sort(v.rbegin(), v.rend());
      g.push_back({v[0] + v[1], gi});
    }
    std::sort(g.rbegin(), g.rend());
    for (int gi : groups) EXPECT_TRUE(gi == g[0].second || gi == g[1].second);
  }
  s.n_group = 3;
  EXPECT_THROW(router_forward(s, logits.data(), nullptr, T, scores.data(), idx.data(), w.data()), Error);
  s.n_group = 4;
  s.top_k = 9;  // 2 groups of 4 cannot supply 9
  EXPECT_THROW(check_router_spec(s), Error);
}

TEST(Moe, GradientAllParameters) {
  std::mt19937 rng(33);
  const int64_t T = 9, C = 8, F = 6, E = 4;
  MoeWeights w;
  w.router = {.n_experts = E, .top_k = 2, .n_group = 2, .topk_group = 1, .score = RouterScore::Sigmoid,
              .group_score = GroupScore::Top2Sum, .norm_topk_prob = true, .routed_scaling_factor = 2.5f};
  w.C = C;
  auto gate = randn(size_t(E * C), rng, 0.6f);
  auto bias = randn(size_t(E), rng, 0.1f);
  std::vector<std::vector<float>> ew;  // per expert: gate, up, down
  for (int64_t e = 0; e < E; ++e)
    for (int i = 0; i < 3; ++i) ew.push_back(randn(size_t(F * C), rng, 0.4f));
  auto sg = randn(size_t(2 * F * C), rng, 0.4f), su = randn(size_t(2 * F * C), rng, 0.4f),
       sd = randn(size_t(2 * F * C), rng, 0.4f);
  w.gate = gate.data();
  w.gate_bias = bias.data();
  for (int64_t e = 0; e < E; ++e)
    w.experts.push_back({ew[size_t(3 * e)].data(), ew[size_t(3 * e + 1)].data(), ew[size_t(3 * e + 2)].data(), C, F});
  w.shared = {sg.data(), su.data(), sd.data(), C, 2 * F};

  auto x = randn(size_t(T * C), rng);
  auto r = randn(size_t(T * C), rng);
  std::vector<float> out(x.size());
  MoeActs acts;
  std::vector<int32_t> idx0;
  auto loss = [&] {
    moe_forward(w, x.data(), T, out.data(), acts);
    if (!idx0.empty()) EXPECT_EQ(acts.idx, idx0) << "selection changed under a probe";
    return dot(out, r);
  };
  loss();
  idx0 = acts.idx;
  int64_t total = 0;
  for (int64_t n : acts.load()) total += n;
  EXPECT_EQ(total, T * 2);

  MoeGrads g;
  std::vector<float> dx(x.size(), 0.0f), dgate(gate.size(), 0.0f);
  std::vector<std::vector<float>> dew;
  for (auto& m : ew) dew.emplace_back(m.size(), 0.0f);
  std::vector<float> dsg(sg.size(), 0.0f), dsu(su.size(), 0.0f), dsd(sd.size(), 0.0f);
  g.gate = dgate.data();
  for (int64_t e = 0; e < E; ++e)
    g.experts.push_back({dew[size_t(3 * e)].data(), dew[size_t(3 * e + 1)].data(), dew[size_t(3 * e + 2)].data()});
  g.shared = {dsg.data(), dsu.data(), dsd.data()};
  moe_backward(w, g, x.data(), T, r.data(), acts, dx.data());

  const testing::GradCheck opt{.samples = 30, .eps = 2e-3f, .atol = 2e-3};
  expect_grad("x", x.data(), dx.data(), x.size(), loss, rng, opt);
  expect_grad("gate", gate.data(), dgate.data(), gate.size(), loss, rng, opt);
  for (int64_t e = 0; e < E; ++e) {
    if (acts.load()[size_t(e)] == 0) continue;  // an expert no token chose has no gradient to check
    for (int i = 0; i < 3; ++i)
      expect_grad("expert" + std::to_string(e) + "." + std::to_string(i), ew[size_t(3 * e + i)].data(),
                  dew[size_t(3 * e + i)].data(), ew[size_t(3 * e + i)].size(), loss, rng, opt);
  }
  expect_grad("shared.gate", sg.data(), dsg.data(), sg.size(), loss, rng, opt);
  expect_grad("shared.down", sd.data(), dsd.data(), sd.size(), loss, rng, opt);
  // The selection-only bias gets no gradient path: moving it (without flipping choices) leaves
  // the output unchanged.
  loss();
  const std::vector<float> before = out;
  bias[0] += 1e-3f;
  loss();
  EXPECT_EQ(out, before);
}

TEST(BalanceLoss, FiniteDifferencesThroughScores) {
  std::mt19937 rng(41);
  const int64_t n_seq = 3, S = 5, T = n_seq * S;
  for (const auto& c : cases()) {
    const int64_t E = c.spec.n_experts, K = c.spec.top_k;
    auto logits = randn(size_t(T * E), rng, 1.5f);
    auto bias = randn(size_t(E), rng, 0.3f);
    std::vector<float> scores(logits.size()), w(size_t(T * K));
    std::vector<int32_t> idx(size_t(T * K)), idx0;
    auto loss = [&] {
      router_forward(c.spec, logits.data(), c.bias ? bias.data() : nullptr, T, scores.data(), idx.data(), w.data());
      if (!idx0.empty()) EXPECT_EQ(idx, idx0) << c.name << ": selection changed under a finite-difference probe";
      return double(seq_balance_forward(c.spec, scores.data(), idx.data(), n_seq, S));
    };
    loss();
    idx0 = idx;
    const float dloss = 1.7f;
    std::vector<float> dl(logits.size(), 0.0f);
    seq_balance_backward(c.spec, dl.data(), scores.data(), idx.data(), n_seq, S, dloss);
    for (auto& g : dl) g /= dloss;  // the backward scales by dloss
    expect_grad(c.name, logits.data(), dl.data(), logits.size(), loss, rng, {.samples = 40, .eps = 1e-3f, .atol = 1e-4});
  }
}

TEST(BalanceLoss, ValueMatchesTheDefinition) {
  // Two sequences of 2 tokens, 4 experts, top-1, hand-chosen scores (sigmoid outputs).
  const RouterSpec r{.n_experts = 4, .top_k = 1, .score = RouterScore::Sigmoid};
  const std::vector<float> s = {0.5f, 0.2f, 0.2f, 0.1f,   0.1f, 0.6f, 0.2f, 0.1f,    // sequence 0
                                0.3f, 0.3f, 0.3f, 0.1f,   0.25f, 0.25f, 0.25f, 0.25f};
  const std::vector<int32_t> idx = {0, 1, 2, 2};
  // Sequence 0: f = 4/(1·2)·[1,1,0,0] = [2,2,0,0]; Σ s per token is 1 so P = [0.3, 0.4, 0.2, 0.1]
  //   → 2·0.3 + 2·0.4 = 1.4. Sequence 1: f = [0,0,4,0]; P_2 = (0.3 + 0.25)/2 = 0.275 → 1.1.
  EXPECT_NEAR(seq_balance_forward(r, s.data(), idx.data(), 2, 2), (1.4 + 1.1) / 2, 1e-6);
  // Perfectly uniform routing and scores give exactly 1.
  const std::vector<float> u(16, 0.7f);
  const std::vector<int32_t> all = {0, 1, 2, 3};
  EXPECT_NEAR(seq_balance_forward(r, u.data(), all.data(), 1, 4), 1.0, 1e-6);
  EXPECT_THROW(seq_balance_forward(r, u.data(), all.data(), 0, 4), Error);
}

}  // namespace
}  // namespace sputnik::train
