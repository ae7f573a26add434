// Runs every training op on seeded random data and writes inputs, upstream gradients, outputs and
// input/weight gradients as .npy files (plus meta.json) for reference_ops.py to check against
// PyTorch autograd. Usage: train_ops_driver OUTDIR
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.h"
#include "npy_writer.h"
#include "train/adamw.h"
#include "train/attention.h"
#include "train/cross_entropy.h"
#include "train/embedding.h"
#include "train/gqa.h"
#include "train/linear.h"
#include "train/mla.h"
#include "train/moe.h"
#include "train/rmsnorm.h"
#include "train/rope.h"
#include "train/router.h"
#include "train/swiglu.h"

namespace sputnik::train {
namespace {

namespace fs = std::filesystem;
using Vec = std::vector<float>;
using Shape = std::vector<int64_t>;

std::mt19937 rng(1234);

Vec randn(int64_t n, float sd = 1.0f, float mean = 0.0f) {
  std::normal_distribution<float> d(mean, sd);
  Vec v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}
Vec zeros(const Vec& like) { return Vec(like.size(), 0.0f); }

class Case {
 public:
  Case(const fs::path& root, const std::string& name) : dir_(root / name) {
    fs::create_directories(dir_);
    meta["op"] = name;
  }
  ~Case() { std::ofstream(dir_ / "meta.json") << meta.dump(1); }
  void put(const std::string& name, const Vec& v, const Shape& s) { testing::write_npy((dir_ / (name + ".npy")).string(), v, s); }
  void put(const std::string& name, const std::vector<int32_t>& v, const Shape& s) {
    testing::write_npy((dir_ / (name + ".npy")).string(), v, s);
  }
  nlohmann::json meta;

 private:
  fs::path dir_;
};

std::vector<int32_t> positions(int64_t B, int64_t S) {
  std::vector<int32_t> p;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) p.push_back(int32_t(s + 5 * b));
  return p;
}

void embedding(const fs::path& root) {
  Case c(root, "embedding");
  const int64_t T = 10, V = 7, C = 5;
  std::vector<int32_t> tok;
  for (int64_t t = 0; t < T; ++t) tok.push_back(int32_t((t * 3) % V));
  Vec table = randn(V * C), dout = randn(T * C), out(size_t(T * C)), dtable = zeros(table);
  embedding_forward(out.data(), tok.data(), table.data(), T, V, C);
  embedding_backward(dtable.data(), dout.data(), tok.data(), T, C);
  c.put("in.tokens", tok, {T});
  c.put("in.table", table, {V, C});
  c.put("dout.out", dout, {T, C});
  c.put("out.out", out, {T, C});
  c.put("grad.table", dtable, {V, C});
}

void rmsnorm(const fs::path& root) {
  Case c(root, "rmsnorm");
  const int64_t T = 6, C = 32;
  const float eps = 1e-6f;
  Vec x = randn(T * C, 1.5f, 0.2f), w = randn(C, 0.3f, 1.0f), dout = randn(T * C);
  Vec out(x.size()), rstd(static_cast<size_t>(T)), dx = zeros(x), dw = zeros(w);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), T, C, eps);
  rmsnorm_backward(dx.data(), dw.data(), dout.data(), x.data(), w.data(), rstd.data(), T, C);
  c.meta["eps"] = eps;
  c.put("in.x", x, {T, C});
  c.put("in.w", w, {C});
  c.put("dout.out", dout, {T, C});
  c.put("out.out", out, {T, C});
  c.put("grad.x", dx, {T, C});
  c.put("grad.w", dw, {C});
}

void linear(const fs::path& root) {
  Case c(root, "linear");
  const int64_t T = 9, C = 20, OC = 13;
  Vec x = randn(T * C), w = randn(OC * C, 0.3f), b = randn(OC), dout = randn(T * OC);
  Vec out(size_t(T * OC)), dx = zeros(x), dw = zeros(w), db = zeros(b);
  linear_forward(out.data(), x.data(), w.data(), b.data(), T, C, OC);
  linear_backward(dx.data(), dw.data(), db.data(), dout.data(), x.data(), w.data(), T, C, OC);
  c.put("in.x", x, {T, C});
  c.put("in.w", w, {OC, C});
  c.put("in.b", b, {OC});
  c.put("dout.out", dout, {T, OC});
  c.put("out.out", out, {T, OC});
  c.put("grad.x", dx, {T, C});
  c.put("grad.w", dw, {OC, C});
  c.put("grad.b", db, {OC});
}

void rope(const fs::path& root, bool interleaved) {
  Case c(root, interleaved ? "rope_interleaved" : "rope_half");
  const int64_t T = 8, H = 3, D = 12, off = interleaved ? 4 : 0, rd = D - off;
  const double theta = 10000.0;
  const YarnParams yarn{.factor = 8.0, .original_max_position = 32, .beta_fast = 32, .beta_slow = 1};
  const float scale = float(yarn_mscale(8.0, 1.0));
  const RopeTable table = make_rope_table(rd, interleaved, theta, yarn, scale);
  std::vector<int32_t> pos = {0, 1, 2, 3, 17, 40, 100, 1000};
  Vec x = randn(T * H * D), dout = randn(T * H * D);
  Vec out = x, dx = dout;
  rope_forward(table, out.data(), pos.data(), T, H, D, off);
  rope_backward(table, dx.data(), pos.data(), T, H, D, off);
  c.meta.update({{"theta", theta}, {"factor", yarn.factor}, {"original_max_position", yarn.original_max_position},
                 {"beta_fast", yarn.beta_fast}, {"beta_slow", yarn.beta_slow}, {"offset", off}, {"rot_dim", rd},
                 {"scale", scale}});
  c.put("in.x", x, {T, H, D});
  c.put("in.pos", pos, {T});
  c.put("dout.out", dout, {T, H, D});
  c.put("out.out", out, {T, H, D});
  c.put("grad.x", dx, {T, H, D});
}

void attention(const fs::path& root) {
  Case c(root, "attention");
  const AttentionShape s{.B = 2, .S = 7, .Hq = 6, .Hkv = 2, .Dk = 8, .Dv = 5, .scale = 0.3f};
  Vec q = randn(s.B * s.S * s.Hq * s.Dk), k = randn(s.B * s.S * s.Hkv * s.Dk), v = randn(s.B * s.S * s.Hkv * s.Dv);
  Vec dout = randn(s.B * s.S * s.Hq * s.Dv), out(dout.size()), probs(size_t(s.probs_size()));
  Vec dq = zeros(q), dk = zeros(k), dv = zeros(v);
  attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), s);
  attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(), probs.data(), s);
  c.meta["scale"] = s.scale;
  c.put("in.q", q, {s.B, s.S, s.Hq, s.Dk});
  c.put("in.k", k, {s.B, s.S, s.Hkv, s.Dk});
  c.put("in.v", v, {s.B, s.S, s.Hkv, s.Dv});
  c.put("dout.out", dout, {s.B, s.S, s.Hq, s.Dv});
  c.put("out.out", out, {s.B, s.S, s.Hq, s.Dv});
  c.put("grad.q", dq, {s.B, s.S, s.Hq, s.Dk});
  c.put("grad.k", dk, {s.B, s.S, s.Hkv, s.Dk});
  c.put("grad.v", dv, {s.B, s.S, s.Hkv, s.Dv});
}

void mlp(const fs::path& root) {
  Case c(root, "mlp");
  const int64_t T = 7, C = 16, F = 24;
  Vec x = randn(T * C), g = randn(F * C, 0.3f), u = randn(F * C, 0.3f), d = randn(C * F, 0.3f), dout = randn(T * C);
  Vec out(x.size()), dx = zeros(x), dg = zeros(g), du = zeros(u), dd = zeros(d);
  MlpWeights w{g.data(), u.data(), d.data(), C, F};
  MlpActs acts;
  mlp_forward(w, x.data(), T, out.data(), acts);
  mlp_backward(w, {dg.data(), du.data(), dd.data()}, x.data(), T, dout.data(), acts, dx.data());
  c.put("in.x", x, {T, C});
  c.put("in.gate", g, {F, C});
  c.put("in.up", u, {F, C});
  c.put("in.down", d, {C, F});
  c.put("dout.out", dout, {T, C});
  c.put("out.out", out, {T, C});
  c.put("grad.x", dx, {T, C});
  c.put("grad.gate", dg, {F, C});
  c.put("grad.up", du, {F, C});
  c.put("grad.down", dd, {C, F});
}

nlohmann::json router_meta(const RouterSpec& s) {
  return {{"n_experts", s.n_experts},
          {"top_k", s.top_k},
          {"n_group", s.n_group},
          {"topk_group", s.topk_group},
          {"scoring", s.score == RouterScore::Softmax ? "softmax" : "sigmoid"},
          {"group_score", s.group_score == GroupScore::Max ? "max" : "top2sum"},
          {"norm_topk_prob", s.norm_topk_prob},
          {"routed_scaling_factor", s.routed_scaling_factor},
          {"v3", s.scale_after_norm}};
}

void router(const fs::path& root, const std::string& name, const RouterSpec& s, bool bias) {
  Case c(root, name);
  const int64_t T = 12, E = s.n_experts, K = s.top_k;
  Vec logits = randn(T * E, 1.5f), b = randn(E, 0.5f), dout = randn(T * K);
  Vec scores(logits.size()), w(size_t(T * K)), dl = zeros(logits);
  std::vector<int32_t> idx(size_t(T * K));
  router_forward(s, logits.data(), bias ? b.data() : nullptr, T, scores.data(), idx.data(), w.data());
  router_backward(s, dl.data(), dout.data(), scores.data(), idx.data(), T);
  c.meta["router"] = router_meta(s);
  c.put("in.logits", logits, {T, E});
  if (bias) c.put("in.bias", b, {E});
  c.put("dout.weights", dout, {T, K});
  c.put("out.idx", idx, {T, K});
  c.put("out.weights", w, {T, K});
  c.put("grad.logits", dl, {T, E});
}

void moe(const fs::path& root) {
  Case c(root, "moe");
  const int64_t T = 40, C = 12, F = 8, E = 6, NS = 2;  // enough tokens that every expert is chosen
  MoeWeights w;
  w.router = {.n_experts = E, .top_k = 2, .n_group = 3, .topk_group = 2, .score = RouterScore::Sigmoid,
              .group_score = GroupScore::Top2Sum, .norm_topk_prob = true, .routed_scaling_factor = 2.5f};
  w.C = C;
  Vec gate = randn(E * C, 0.5f), bias = randn(E, 0.05f);
  std::vector<Vec> p;
  for (int64_t e = 0; e < E; ++e) {
    p.push_back(randn(F * C, 0.3f));
    p.push_back(randn(F * C, 0.3f));
    p.push_back(randn(C * F, 0.3f));
  }
  Vec sg = randn(NS * F * C, 0.3f), su = randn(NS * F * C, 0.3f), sd = randn(C * NS * F, 0.3f);
  w.gate = gate.data();
  w.gate_bias = bias.data();
  for (int64_t e = 0; e < E; ++e) w.experts.push_back({p[size_t(3 * e)].data(), p[size_t(3 * e + 1)].data(), p[size_t(3 * e + 2)].data(), C, F});
  w.shared = {sg.data(), su.data(), sd.data(), C, NS * F};
  Vec x = randn(T * C), dout = randn(T * C), out(x.size()), dx = zeros(x), dgate = zeros(gate);
  std::vector<Vec> dp;
  for (auto& v : p) dp.push_back(zeros(v));
  Vec dsg = zeros(sg), dsu = zeros(su), dsd = zeros(sd);
  MoeGrads g;
  g.gate = dgate.data();
  for (int64_t e = 0; e < E; ++e) g.experts.push_back({dp[size_t(3 * e)].data(), dp[size_t(3 * e + 1)].data(), dp[size_t(3 * e + 2)].data()});
  g.shared = {dsg.data(), dsu.data(), dsd.data()};
  MoeActs acts;
  moe_forward(w, x.data(), T, out.data(), acts);
  moe_backward(w, g, x.data(), T, dout.data(), acts, dx.data());
  c.meta["router"] = router_meta(w.router);
  c.meta["n_shared_experts"] = NS;
  c.put("in.x", x, {T, C});
  c.put("in.gate", gate, {E, C});
  c.put("in.bias", bias, {E});
  const char* names[] = {"gate_proj", "up_proj", "down_proj"};
  for (int64_t e = 0; e < E; ++e)
    for (int i = 0; i < 3; ++i) {
      const Shape sh = i == 2 ? Shape{C, F} : Shape{F, C};
      const std::string n = "experts." + std::to_string(e) + "." + names[i];
      c.put("in." + n, p[size_t(3 * e + i)], sh);
      c.put("grad." + n, dp[size_t(3 * e + i)], sh);
    }
  c.put("in.shared.gate_proj", sg, {NS * F, C});
  c.put("in.shared.up_proj", su, {NS * F, C});
  c.put("in.shared.down_proj", sd, {C, NS * F});
  c.put("dout.out", dout, {T, C});
  c.put("out.out", out, {T, C});
  c.put("out.idx", acts.idx, {T, 2});
  c.put("grad.x", dx, {T, C});
  c.put("grad.gate", dgate, {E, C});
  c.put("grad.shared.gate_proj", dsg, {NS * F, C});
  c.put("grad.shared.up_proj", dsu, {NS * F, C});
  c.put("grad.shared.down_proj", dsd, {C, NS * F});
}

void cross_entropy(const fs::path& root) {
  Case c(root, "cross_entropy");
  const int64_t T = 10, V = 50;
  Vec logits = randn(T * V, 2.0f), lse(static_cast<size_t>(T)), dl = zeros(logits);
  std::vector<int32_t> tgt;
  for (int64_t t = 0; t < T; ++t) tgt.push_back(t % 4 == 1 ? kIgnoreIndex : int32_t((t * 7) % V));
  const float loss = cross_entropy_forward(lse.data(), logits.data(), tgt.data(), T, V);
  cross_entropy_backward(dl.data(), logits.data(), lse.data(), tgt.data(), T, V, 1.0f);
  c.put("in.logits", logits, {T, V});
  c.put("in.targets", tgt, {T});
  c.put("out.loss", Vec{loss}, {});
  c.put("grad.logits", dl, {T, V});
}

void gqa(const fs::path& root) {
  Case c(root, "gqa");
  const int64_t B = 2, S = 6, C = 24, Hq = 4, Hkv = 2, D = 8;
  const double theta = 1e6, factor = 4.0;
  GqaSpec s{.C = C, .Hq = Hq, .Hkv = Hkv, .D = D};
  s.rope = make_rope_table(D, false, theta, {.factor = factor, .original_max_position = 8}, float(yarn_mscale(factor, 1.0)));
  Vec wq = randn(Hq * D * C, 0.2f), wk = randn(Hkv * D * C, 0.2f), wv = randn(Hkv * D * C, 0.2f), wo = randn(C * Hq * D, 0.2f);
  Vec bq = randn(Hq * D, 0.1f), bk = randn(Hkv * D, 0.1f), bv = randn(Hkv * D, 0.1f);
  Vec x = randn(B * S * C), dout = randn(B * S * C), out(x.size());
  auto pos = positions(B, S);
  GqaWeights w{wq.data(), wk.data(), wv.data(), wo.data(), bq.data(), bk.data(), bv.data()};
  Vec dwq = zeros(wq), dwk = zeros(wk), dwv = zeros(wv), dwo = zeros(wo), dbq = zeros(bq), dbk = zeros(bk), dbv = zeros(bv), dx = zeros(x);
  GqaGrads g{dwq.data(), dwk.data(), dwv.data(), dwo.data(), dbq.data(), dbk.data(), dbv.data()};
  GqaActs acts;
  gqa_forward(s, w, x.data(), pos.data(), B, S, out.data(), acts);
  gqa_backward(s, w, g, x.data(), pos.data(), B, S, dout.data(), acts, dx.data());
  c.meta.update({{"B", B}, {"S", S}, {"num_attention_heads", Hq}, {"num_key_value_heads", Hkv}, {"rope_theta", theta},
                 {"rope_scaling", {{"type", "yarn"}, {"factor", factor}, {"original_max_position_embeddings", 8}}}});
  const std::vector<std::tuple<std::string, Vec*, Vec*, Shape>> t = {
      {"q_proj.weight", &wq, &dwq, {Hq * D, C}}, {"k_proj.weight", &wk, &dwk, {Hkv * D, C}},
      {"v_proj.weight", &wv, &dwv, {Hkv * D, C}}, {"o_proj.weight", &wo, &dwo, {C, Hq * D}},
      {"q_proj.bias", &bq, &dbq, {Hq * D}}, {"k_proj.bias", &bk, &dbk, {Hkv * D}},
      {"v_proj.bias", &bv, &dbv, {Hkv * D}}, {"x", &x, &dx, {B * S, C}}};
  for (auto& [n, v, d, sh] : t) {
    c.put("in." + n, *v, sh);
    c.put("grad." + n, *d, sh);
  }
  c.put("in.pos", pos, {B * S});
  c.put("dout.out", dout, {B * S, C});
  c.put("out.out", out, {B * S, C});
}

void mla(const fs::path& root, bool q_lora) {
  Case c(root, q_lora ? "mla_q_lora" : "mla_q_proj");
  const int64_t B = 2, S = 5, C = 24, H = 3, qr = 12, r = 10, dn = 6, dr = 4, dv = 7;
  const double theta = 10000.0, factor = 8.0, mscale = 0.707, mscale_all = 0.707;
  MlaSpec s{.C = C, .H = H, .q_lora_rank = q_lora ? qr : 0, .kv_lora_rank = r, .qk_nope = dn, .qk_rope = dr, .v_head = dv, .eps = 1e-6f};
  s.rope = make_rope_table(dr, true, theta, {.factor = factor, .original_max_position = 8},
                           float(yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all)));
  const double m = yarn_mscale(factor, mscale_all);
  s.scale = float(1.0 / std::sqrt(double(dn + dr)) * m * m);
  const int64_t QD = H * (dn + dr);
  std::vector<std::tuple<std::string, Vec, Shape>> p;
  if (q_lora) {
    p.push_back({"q_a_proj.weight", randn(qr * C, 0.2f), {qr, C}});
    p.push_back({"q_a_layernorm.weight", randn(qr, 0.2f, 1.0f), {qr}});
    p.push_back({"q_b_proj.weight", randn(QD * qr, 0.2f), {QD, qr}});
  } else {
    p.push_back({"q_proj.weight", randn(QD * C, 0.2f), {QD, C}});
  }
  p.push_back({"kv_a_proj_with_mqa.weight", randn((r + dr) * C, 0.2f), {r + dr, C}});
  p.push_back({"kv_a_layernorm.weight", randn(r, 0.2f, 1.0f), {r}});
  p.push_back({"kv_b_proj.weight", randn(H * (dn + dv) * r, 0.2f), {H * (dn + dv), r}});
  p.push_back({"o_proj.weight", randn(C * H * dv, 0.2f), {C, H * dv}});
  std::vector<Vec> d;
  for (auto& t : p) d.push_back(zeros(std::get<1>(t)));
  auto ptr = [&](const char* n, bool grad) -> float* {
    for (size_t i = 0; i < p.size(); ++i)
      if (std::get<0>(p[i]) == n) return grad ? d[i].data() : std::get<1>(p[i]).data();
    return nullptr;
  };
  MlaWeights w{ptr("q_proj.weight", false), ptr("q_a_proj.weight", false), ptr("q_a_layernorm.weight", false),
               ptr("q_b_proj.weight", false), ptr("kv_a_proj_with_mqa.weight", false), ptr("kv_a_layernorm.weight", false),
               ptr("kv_b_proj.weight", false), ptr("o_proj.weight", false)};
  MlaGrads g{ptr("q_proj.weight", true), ptr("q_a_proj.weight", true), ptr("q_a_layernorm.weight", true),
             ptr("q_b_proj.weight", true), ptr("kv_a_proj_with_mqa.weight", true), ptr("kv_a_layernorm.weight", true),
             ptr("kv_b_proj.weight", true), ptr("o_proj.weight", true)};
  Vec x = randn(B * S * C), dout = randn(B * S * C), out(x.size()), dx = zeros(x);
  auto pos = positions(B, S);
  MlaActs acts;
  mla_forward(s, w, x.data(), pos.data(), B, S, out.data(), acts);
  mla_backward(s, w, g, x.data(), pos.data(), B, S, dout.data(), acts, dx.data());
  c.meta.update({{"B", B}, {"S", S}, {"num_attention_heads", H}, {"q_lora_rank", q_lora ? nlohmann::json(qr) : nlohmann::json()},
                 {"kv_lora_rank", r}, {"qk_nope_head_dim", dn}, {"qk_rope_head_dim", dr}, {"v_head_dim", dv},
                 {"rms_norm_eps", 1e-6}, {"rope_theta", theta},
                 {"rope_scaling", {{"type", "yarn"}, {"factor", factor}, {"original_max_position_embeddings", 8},
                                   {"beta_fast", 32}, {"beta_slow", 1}, {"mscale", mscale}, {"mscale_all_dim", mscale_all}}}});
  for (size_t i = 0; i < p.size(); ++i) {
    c.put("in." + std::get<0>(p[i]), std::get<1>(p[i]), std::get<2>(p[i]));
    c.put("grad." + std::get<0>(p[i]), d[i], std::get<2>(p[i]));
  }
  c.put("in.x", x, {B * S, C});
  c.put("grad.x", dx, {B * S, C});
  c.put("in.pos", pos, {B * S});
  c.put("dout.out", dout, {B * S, C});
  c.put("out.out", out, {B * S, C});
}

void adamw(const fs::path& root) {
  Case c(root, "adamw");
  // Three tensors: a matrix (decayed), a norm-like vector (not decayed), a frozen buffer.
  std::vector<Param> params = {
      {.name = "w", .shape = {5, 4}, .offset = 0, .size = 20, .trainable = true, .decay = true},
      {.name = "n", .shape = {6}, .offset = 20, .size = 6, .trainable = true, .decay = false},
      {.name = "b", .shape = {3}, .offset = 26, .size = 3, .trainable = false, .decay = false}};
  const AdamWConfig cfg{.beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f};
  const int steps = 5;
  const float max_norm = 2.0f;
  Vec data = randn(29);
  c.put("in.data", data, {29});
  AdamW opt(params, data.size(), cfg);
  Vec lrs, norms;
  for (int s = 0; s < steps; ++s) {
    Vec g = randn(29, s % 2 ? 0.3f : 2.0f);  // alternately below and above the clip threshold
    c.put("in.grad" + std::to_string(s), g, {29});
    norms.push_back(clip_grad_norm(params, g.data(), max_norm));
    lrs.push_back(1e-2f * float(s + 1));
    opt.step(data.data(), g.data(), lrs.back());
  }
  c.meta.update({{"steps", steps}, {"max_norm", max_norm}, {"beta1", cfg.beta1}, {"beta2", cfg.beta2},
                 {"eps", cfg.eps}, {"weight_decay", cfg.weight_decay}});
  c.put("in.lr", lrs, {steps});
  c.put("out.norms", norms, {steps});
  c.put("out.data", data, {29});
}

void run(const fs::path& root) {
  embedding(root);
  rmsnorm(root);
  linear(root);
  rope(root, false);
  rope(root, true);
  attention(root);
  mlp(root);
  router(root, "router_v2_softmax_group", {.n_experts = 8, .top_k = 3, .n_group = 4, .topk_group = 2, .score = RouterScore::Softmax,
                                           .group_score = GroupScore::Max, .routed_scaling_factor = 16.0f, .scale_after_norm = false}, false);
  router(root, "router_v2_softmax_norm", {.n_experts = 6, .top_k = 2, .score = RouterScore::Softmax, .norm_topk_prob = true,
                                          .routed_scaling_factor = 3.0f, .scale_after_norm = false}, false);
  router(root, "router_v3_sigmoid", {.n_experts = 16, .top_k = 4, .n_group = 4, .topk_group = 2, .score = RouterScore::Sigmoid,
                                     .group_score = GroupScore::Top2Sum, .norm_topk_prob = true, .routed_scaling_factor = 2.5f}, true);
  moe(root);
  cross_entropy(root);
  gqa(root);
  mla(root, true);
  mla(root, false);
  adamw(root);
}

}  // namespace
}  // namespace sputnik::train

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  try {
    sputnik::train::run(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_ops_driver: %s\n", e.what());
    return 1;
  }
  return 0;
}
