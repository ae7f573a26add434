#include "models/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/scratch.h"
#include "core/team.h"
#include "core/threads.h"
#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "models/decode_panels.h"

namespace sputnik {
namespace {

// part[0, d) += w · y: how a routed expert's output is mixed into a token's output, on every
// path (so that all of them round it the same way).
void mix_into(float* part, float w, const float* y, int64_t d) {
  for (int64_t i = 0; i < d; ++i) part[i] += w * y[i];
}

}  // namespace

void route_token(const ModelConfig& c, const float* logits, const float* bias, int32_t* experts,
                 float* weights) {
  const int64_t ne = c.n_routed_experts, k = c.num_experts_per_tok;
  std::vector<float> scores(logits, logits + ne);
  if (c.scoring_func == ScoringFunc::Softmax) softmax(scores.data(), ne);
  else for (float& s : scores) s = sigmoid(s);

  // Selection uses the biased copy; mixing weights use the plain scores.
  std::vector<float> choice = scores;
  if (bias) for (int64_t e = 0; e < ne; ++e) choice[size_t(e)] += bias[e];

  if (c.topk_method != TopkMethod::Greedy && c.n_group > 1) {
    const int64_t per = ne / c.n_group;
    std::vector<float> group_score(static_cast<size_t>(c.n_group));
    for (int64_t g = 0; g < c.n_group; ++g) {
      std::vector<float> v(choice.begin() + g * per, choice.begin() + (g + 1) * per);
      std::sort(v.begin(), v.end(), std::greater<>());
      // noaux_tc ranks a group by its two best experts, group_limited_greedy by its best one.
      group_score[size_t(g)] = c.topk_method == TopkMethod::NoAuxTc ? v[0] + v[1] : v[0];
    }
    std::vector<int64_t> groups(static_cast<size_t>(c.n_group));
    std::iota(groups.begin(), groups.end(), 0);
    std::stable_sort(groups.begin(), groups.end(),
                     [&](int64_t a, int64_t b) { return group_score[size_t(a)] > group_score[size_t(b)]; });
    for (int64_t i = c.topk_group; i < c.n_group; ++i)
      for (int64_t e = groups[size_t(i)] * per; e < (groups[size_t(i)] + 1) * per; ++e)
        choice[size_t(e)] = -INFINITY;
  }

  std::vector<int32_t> order(static_cast<size_t>(ne));
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
    return choice[size_t(a)] > choice[size_t(b)] || (choice[size_t(a)] == choice[size_t(b)] && a < b);
  });
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    experts[i] = order[size_t(i)];
    weights[i] = scores[size_t(order[size_t(i)])];
    sum += weights[i];
  }
  const bool normalize = k > 1 && c.norm_topk_prob;
  // HF DeepSeek-V2 scales only unnormalized weights; V3 normalizes, then always scales.
  const bool scale = c.arch == Arch::DeepSeekV3 || !normalize;
  for (int64_t i = 0; i < k; ++i) {
    if (normalize) weights[i] = float(weights[i] / (sum + 1e-20));
    if (scale) weights[i] = float(weights[i] * c.routed_scaling_factor);
  }
}

Moe::Moe(const WeightStore& ws, const std::string& prefix, const ModelConfig& c) : c_(&c) {
  const int64_t d = c.hidden_size, ne = c.n_routed_experts;
  gate_ = load_linear(ws, prefix + ".gate", ne, d);
  gate_.bias.clear();  // a router has no additive bias; e_score_correction_bias is separate
  if (ws.contains(prefix + ".gate.e_score_correction_bias"))
    bias_ = load_vector(ws, prefix + ".gate.e_score_correction_bias", ne);
  for (int64_t e = 0; e < ne; ++e)
    experts_.push_back(load_mlp(ws, prefix + ".experts." + std::to_string(e), d, c.moe_intermediate_size));
  if (c.n_shared_experts > 0)
    shared_ = load_mlp(ws, prefix + ".shared_experts", d, c.moe_intermediate_size * c.n_shared_experts);
}

void Moe::operator()(const float* x, int64_t n, float* out) const {
  const ModelConfig& c = *c_;
  const int64_t d = c.hidden_size, ne = c.n_routed_experts, k = c.num_experts_per_tok;
  std::vector<float> logits(size_t(n * ne));
  gate_(x, n, logits.data());
  std::vector<int32_t> chosen(size_t(n * k));
  std::vector<float> mix(size_t(n * k));
  for (int64_t t = 0; t < n; ++t)
    route_token(c, logits.data() + t * ne, bias_.empty() ? nullptr : bias_.data(),
                chosen.data() + t * k, mix.data() + t * k);

  // Each expert runs once over all the tokens routed to it (a GEMM, not per-token GEMVs).
  std::vector<std::vector<std::pair<int64_t, float>>> per_expert(static_cast<size_t>(ne));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < k; ++i) per_expert[size_t(chosen[size_t(t * k + i)])].push_back({t, mix[size_t(t * k + i)]});
  if (n == 1 && decode_groups() > 1) return run_groups(x, chosen, mix, out);
  if (n <= kFewTokens) return run_few(x, n, per_expert, out);
  if (shared_) (*shared_)(x, n, out);
  else std::fill(out, out + n * d, 0.0f);
  // Whole experts are the units of work, handed out to the threads by parallel_chunks; each
  // runs single-threaded (its matmuls run inside a pool task: detail::in_parallel). With ~n·k/64 tokens per expert, one
  // parallel region per expert product meant thousands of fork/joins per prefill whose tails
  // left a thread waiting (~8% of a V2-Lite prefill). Matmul results do not depend on the
  // thread count, and the outputs are mixed afterwards in expert order as before.
  std::vector<int64_t> active, offset;
  int64_t total = 0;
  for (int64_t e = 0; e < ne; ++e) {
    if (per_expert[size_t(e)].empty()) continue;
    active.push_back(e);
    offset.push_back(total);
    total += int64_t(per_expert[size_t(e)].size());
  }
  std::vector<float> yout(size_t(total * d));
  parallel_chunks(int64_t(active.size()), [&](int64_t i) {
    const auto& rows = per_expert[size_t(active[size_t(i)])];
    const int64_t m = int64_t(rows.size());
    static thread_local std::vector<float> xin;
    xin.resize(size_t(m * d));
    for (int64_t r = 0; r < m; ++r) std::copy_n(x + rows[size_t(r)].first * d, d, xin.data() + r * d);
    experts_[size_t(active[size_t(i)])](xin.data(), m, yout.data() + offset[size_t(i)] * d);
  });
  for (size_t i = 0; i < active.size(); ++i) {
    const auto& rows = per_expert[size_t(active[i])];
    const float* y = yout.data() + offset[i] * d;
    for (size_t r = 0; r < rows.size(); ++r) {
      mix_into(out + rows[r].first * d, rows[r].second, y + int64_t(r) * d, d);
    }
  }
}

}  // namespace sputnik

namespace sputnik {

// Decode: every chosen expert's (and the shared experts') gate and up products in one parallel
// region, then all the down products in a second, instead of three regions per expert. The
// numbers are those of the per-expert loop: same products, same order of the mixing sum.
void Moe::run_few(const float* x, int64_t n, const std::vector<std::vector<std::pair<int64_t, float>>>& per_expert,
                  float* out) const {
  const int64_t d = c_->hidden_size;
  struct Part {
    const Mlp* mlp;
    const std::vector<std::pair<int64_t, float>>* rows;  // null: all n tokens (shared experts)
    int64_t m, x_off, h_off, y_off;  // tokens, offsets into xin (−1: reads x), gate/up, and yout
  };
  // A part that takes every token in order reads x itself: then all such parts (always at one
  // decode token) have the same input, which matmul_many quantizes once for all of them.
  const auto all_tokens = [&](const std::vector<std::pair<int64_t, float>>& rows) {
    if (int64_t(rows.size()) != n) return false;
    for (int64_t r = 0; r < n; ++r)
      if (rows[size_t(r)].first != r) return false;
    return true;
  };
  std::vector<Part> parts;
  int64_t xs = 0, hs = 0, ys = 0;
  auto add = [&](const Mlp& mlp, const std::vector<std::pair<int64_t, float>>* rows) {
    const int64_t m = rows ? int64_t(rows->size()) : n;
    const bool own_input = rows && !all_tokens(*rows);
    parts.push_back({&mlp, rows, m, own_input ? xs : -1, hs, ys});
    if (own_input) xs += m * d;
    hs += m * mlp.inner();
    ys += m * d;
  };
  if (shared_) add(*shared_, nullptr);
  for (size_t e = 0; e < per_expert.size(); ++e)
    if (!per_expert[e].empty()) add(experts_[e], &per_expert[e]);
  std::vector<float> xin(static_cast<size_t>(xs)), g(static_cast<size_t>(hs)), u(static_cast<size_t>(hs)),
      yout(static_cast<size_t>(ys));
  std::vector<MatmulJob> jobs;
  for (const Part& p : parts) {
    const float* in = x;
    if (p.x_off >= 0) {
      for (size_t r = 0; r < p.rows->size(); ++r)
        std::copy_n(x + (*p.rows)[r].first * d, d, xin.data() + p.x_off + int64_t(r) * d);
      in = xin.data() + p.x_off;
    }
    jobs.push_back({&p.mlp->gate.w, in, p.m, g.data() + p.h_off});
    jobs.push_back({&p.mlp->up.w, in, p.m, u.data() + p.h_off});
  }
  matmul_many(jobs.data(), jobs.size());
  jobs.clear();
  for (const Part& p : parts) {
    float* gp = g.data() + p.h_off;
    add_bias(p.mlp->gate, p.m, gp);
    add_bias(p.mlp->up, p.m, u.data() + p.h_off);
    swiglu(gp, u.data() + p.h_off, p.m * p.mlp->inner(), gp);
    jobs.push_back({&p.mlp->down.w, gp, p.m, yout.data() + p.y_off});
  }
  matmul_many(jobs.data(), jobs.size());
  for (const Part& p : parts) add_bias(p.mlp->down, p.m, yout.data() + p.y_off);

  if (shared_) std::copy_n(yout.data(), n * d, out);
  else std::fill(out, out + n * d, 0.0f);
  size_t pi = shared_ ? 1 : 0;
  for (const auto& rows : per_expert) {
    if (rows.empty()) continue;
    const float* y = yout.data() + parts[pi++].y_off;
    for (size_t r = 0; r < rows.size(); ++r) {
      mix_into(out + rows[r].first * d, rows[r].second, y + int64_t(r) * d, d);
    }
  }
}

}  // namespace sputnik

namespace sputnik {

int Moe::decode_groups() const {
  if (!shared_ || !shared_->down.w.column_panels() || !shared_->gate.bias.empty() || !shared_->up.bias.empty() ||
      !shared_->down.bias.empty())
    return 1;
  const int groups = shared_->down.w.panels;
  return shared_->inner() % (16 * groups) == 0 ? groups : 1;  // a group's rows of gate/up: whole tiles
}

void Moe::run_groups(const float* x, const std::vector<int32_t>& experts, const std::vector<float>& mix,
                     float* out) const {
  const int groups = decode_groups();
  const int64_t d = c_->hidden_size, f = shared_->inner(), fe = c_->moe_intermediate_size,
                k = int64_t(experts.size());
  // The shared experts' panels as plain matrices, and a test of every product's kernel: a team
  // computes its groups alone only where matmul_rows serves them all (the same on every rank,
  // which all see the same experts).
  const std::vector<TensorView>& down_panels = shared_->down.panels;
  bool alone = in_team() && team_size() == groups;
  const auto serves = [](const TensorView& w) { return matmul_rows_applies({&w, nullptr, 1, nullptr}); };
  alone = alone && serves(shared_->gate.w) && serves(shared_->up.w) && serves(down_panels[0]);
  for (const int32_t e : experts) {
    const Mlp& m = experts_[size_t(e)];
    alone = alone && serves(m.gate.w) && serves(m.up.w) && serves(m.down.w);
  }
  const int g0 = alone ? team_rank() : 0, g1 = alone ? g0 + 1 : groups;
  const int64_t e0 = k * g0 / groups, e1 = k * g1 / groups, ne = e1 - e0;
  const int64_t f0 = f * g0 / groups, f1 = f * g1 / groups;
  // Whole-width shared buffers (matmul_rows writes row o at [o]; only [f0, f1) is used).
  ScratchLease scratch(size_t(2 * f + 2 * ne * fe + (g1 - g0) * d + ne * d));
  float* sg = scratch.take(size_t(f));
  float* su = scratch.take(size_t(f));
  float* eg = scratch.take(size_t(ne * fe));
  float* eu = scratch.take(size_t(ne * fe));
  float* parts = scratch.take(size_t((g1 - g0) * d));
  float* ey = scratch.take(size_t(ne * d));
  std::vector<MatmulJob> jobs{{&shared_->gate.w, x, 1, sg}, {&shared_->up.w, x, 1, su}};
  std::vector<RowRange> rows{{f0, f1}, {f0, f1}};
  for (int64_t i = 0; i < ne; ++i) {
    const Mlp& m = experts_[size_t(experts[size_t(e0 + i)])];
    jobs.push_back({&m.gate.w, x, 1, eg + i * fe});
    jobs.push_back({&m.up.w, x, 1, eu + i * fe});
    rows.push_back({0, fe});
    rows.push_back({0, fe});
  }
  const auto run = [&] {
    if (alone) matmul_rows(jobs.data(), rows.data(), jobs.size());
    else matmul_many(jobs.data(), jobs.size());
  };
  run();
  swiglu(sg + f0, su + f0, f1 - f0, sg + f0);
  for (int64_t i = 0; i < ne; ++i) {
    const Mlp& m = experts_[size_t(experts[size_t(e0 + i)])];
    add_bias(m.gate, 1, eg + i * fe);
    add_bias(m.up, 1, eu + i * fe);
    swiglu(eg + i * fe, eu + i * fe, fe, eg + i * fe);
  }
  jobs.clear();
  rows.clear();
  for (int g = g0; g < g1; ++g) {
    jobs.push_back({&down_panels[size_t(g)], sg + f * g / groups, 1, parts + (g - g0) * d});
    rows.push_back({0, d});
  }
  for (int64_t i = 0; i < ne; ++i) {
    jobs.push_back({&experts_[size_t(experts[size_t(e0 + i)])].down.w, eg + i * fe, 1, ey + i * d});
    rows.push_back({0, d});
  }
  run();
  for (int g = g0; g < g1; ++g) {
    float* part = parts + (g - g0) * d;
    for (int64_t e = k * g / groups; e < k * (g + 1) / groups; ++e) {
      add_bias(experts_[size_t(experts[size_t(e)])].down, 1, ey + (e - e0) * d);
      mix_into(part, mix[size_t(e)], ey + (e - e0) * d, d);
    }
  }
  if (alone) {
    team_sum(parts, d, out);
    count_decode_split();
    return;
  }
  std::copy_n(parts, d, out);
  for (int g = 1; g < groups; ++g)
    for (int64_t i = 0; i < d; ++i) out[i] += parts[g * d + i];
}

}  // namespace sputnik
