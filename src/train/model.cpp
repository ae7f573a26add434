#include "train/model.h"

#include <malloc.h>

#include <array>
#include <cmath>
#include <mutex>
#include <limits>
#include <random>

#include "core/error.h"
#include "formats/weight_store.h"
#include "kernels/matmul.h"
#include "train/balance_loss.h"
#include "train/cross_entropy.h"
#include "train/embedding.h"
#include "train/gqa.h"
#include "train/linear.h"
#include "train/mla.h"
#include "train/moe.h"
#include "train/precision.h"
#include "train/rmsnorm.h"

namespace sputnik::train {

namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// transformers' YaRN attention factor for Qwen2: explicit, or the mscale ratio, or mscale(factor).
double qwen2_attention_factor(const YarnConfig& y) {
  if (y.attention_factor > 0) return y.attention_factor;
  if (y.has_mscale && y.has_mscale_all_dim && y.mscale != 0 && y.mscale_all_dim != 0)
    return yarn_mscale(y.factor, y.mscale) / yarn_mscale(y.factor, y.mscale_all_dim);
  return yarn_mscale(y.factor, 1.0);
}

YarnParams yarn_params(const YarnConfig& y) {
  YarnParams p;
  if (y.enabled) {
    p.factor = y.factor;
    p.original_max_position = y.original_max_position_embeddings;
    p.beta_fast = y.beta_fast;
    p.beta_slow = y.beta_slow;
  }
  return p;
}

GqaSpec gqa_spec(const ModelConfig& c) {
  GqaSpec s;
  s.C = c.hidden_size;
  s.Hq = c.num_attention_heads;
  s.Hkv = c.num_key_value_heads;
  s.D = c.head_dim;
  const float scale = c.yarn.enabled ? float(qwen2_attention_factor(c.yarn)) : 1.0f;
  s.rope = make_rope_table(c.head_dim, false, c.rope_theta, yarn_params(c.yarn), scale);
  return s;
}

MlaSpec mla_spec(const ModelConfig& c) {
  MlaSpec s;
  s.C = c.hidden_size;
  s.H = c.num_attention_heads;
  s.q_lora_rank = c.q_lora_rank;
  s.kv_lora_rank = c.kv_lora_rank;
  s.qk_nope = c.qk_nope_head_dim;
  s.qk_rope = c.qk_rope_head_dim;
  s.v_head = c.v_head_dim;
  s.eps = float(c.rms_norm_eps);
  double scale = 1.0 / std::sqrt(double(c.qk_head_dim())), cos_sin = 1.0;
  if (c.yarn.enabled) {
    cos_sin = yarn_mscale(c.yarn.factor, c.yarn.mscale) / yarn_mscale(c.yarn.factor, c.yarn.mscale_all_dim);
    if (c.yarn.mscale_all_dim != 0) {
      const double m = yarn_mscale(c.yarn.factor, c.yarn.mscale_all_dim);
      scale *= m * m;
    }
  }
  s.scale = float(scale);
  s.rope = make_rope_table(c.qk_rope_head_dim, true, c.rope_theta, yarn_params(c.yarn), float(cos_sin));
  return s;
}

RouterSpec router_spec(const ModelConfig& c) {
  RouterSpec r{.n_experts = c.n_routed_experts, .top_k = c.num_experts_per_tok};
  if (c.topk_method != TopkMethod::Greedy && c.n_group > 1) {
    r.n_group = c.n_group;
    r.topk_group = c.topk_group;
  }
  r.score = c.scoring_func == ScoringFunc::Sigmoid ? RouterScore::Sigmoid : RouterScore::Softmax;
  r.group_score = c.topk_method == TopkMethod::NoAuxTc ? GroupScore::Top2Sum : GroupScore::Max;
  r.norm_topk_prob = c.norm_topk_prob;
  r.routed_scaling_factor = float(c.routed_scaling_factor);
  r.scale_after_norm = c.arch == Arch::DeepSeekV3;
  return r;
}

// The ops allocate their activations and gradient buffers per step (many MB each). Above glibc's
// mmap threshold every such buffer is a fresh mapping: page faults and zeroing by the kernel cost
// ~15% of a step. Serving them from the heap, and keeping freed memory there, makes a step reuse
// the previous step's pages.
void keep_step_buffers_on_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
  });
}

}  // namespace

struct TrainModel::Layer {
  bool moe = false;
  size_t in_norm = kNone, post_norm = kNone;
  size_t q = kNone, k = kNone, v = kNone, o = kNone, bq = kNone, bk = kNone, bv = kNone;
  size_t q_proj = kNone, q_a = kNone, q_a_norm = kNone, q_b = kNone, kv_a = kNone, kv_a_norm = kNone, kv_b = kNone;
  size_t gate = kNone, up = kNone, down = kNone;                        // dense MLP
  size_t router = kNone, router_bias = kNone, sg = kNone, su = kNone, sd = kNone;
  std::vector<std::array<size_t, 3>> experts;

  std::vector<float> x_in, n1, rstd1, h, n2, rstd2;
  GqaActs gqa;
  MlaActs mla;
  MlpActs mlp;
  MoeActs moe_acts;
};

struct TrainModel::Acts {
  std::vector<int32_t> pos;
  std::vector<float> x_final, n_final, rstd_final, logits, lse;
};

size_t TrainModel::add(const std::string& name, std::vector<int64_t> shape, bool decay, bool trainable) {
  Param p{.name = name, .shape = std::move(shape), .offset = data_.size(), .trainable = trainable, .decay = decay};
  p.size = 1;
  for (int64_t d : p.shape) p.size *= size_t(d);
  data_.resize(data_.size() + p.size);
  params_.push_back(p);
  return p.offset;
}

std::unique_ptr<TrainModel::Layer> TrainModel::add_layer(int64_t l) {
  const ModelConfig& c = config_;
  const int64_t C = c.hidden_size;
  auto L = std::make_unique<Layer>();
  const std::string p = "model.layers." + std::to_string(l) + ".";
  L->in_norm = add(p + "input_layernorm.weight", {C}, false);
  if (!c.is_deepseek()) {
    const int64_t QD = c.num_attention_heads * c.head_dim, KD = c.num_key_value_heads * c.head_dim;
    L->q = add(p + "self_attn.q_proj.weight", {QD, C}, true);
    L->bq = add(p + "self_attn.q_proj.bias", {QD}, false);
    L->k = add(p + "self_attn.k_proj.weight", {KD, C}, true);
    L->bk = add(p + "self_attn.k_proj.bias", {KD}, false);
    L->v = add(p + "self_attn.v_proj.weight", {KD, C}, true);
    L->bv = add(p + "self_attn.v_proj.bias", {KD}, false);
    L->o = add(p + "self_attn.o_proj.weight", {C, QD}, true);
  } else {
    const int64_t H = c.num_attention_heads, QD = H * c.qk_head_dim();
    if (c.q_lora_rank > 0) {
      L->q_a = add(p + "self_attn.q_a_proj.weight", {c.q_lora_rank, C}, true);
      L->q_a_norm = add(p + "self_attn.q_a_layernorm.weight", {c.q_lora_rank}, false);
      L->q_b = add(p + "self_attn.q_b_proj.weight", {QD, c.q_lora_rank}, true);
    } else {
      L->q_proj = add(p + "self_attn.q_proj.weight", {QD, C}, true);
    }
    L->kv_a = add(p + "self_attn.kv_a_proj_with_mqa.weight", {c.kv_lora_rank + c.qk_rope_head_dim, C}, true);
    L->kv_a_norm = add(p + "self_attn.kv_a_layernorm.weight", {c.kv_lora_rank}, false);
    L->kv_b = add(p + "self_attn.kv_b_proj.weight", {H * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank}, true);
    L->o = add(p + "self_attn.o_proj.weight", {C, H * c.v_head_dim}, true);
  }
  L->post_norm = add(p + "post_attention_layernorm.weight", {C}, false);
  L->moe = c.is_deepseek() && c.is_moe_layer(l);
  if (!L->moe) {
    const int64_t F = c.intermediate_size;
    L->gate = add(p + "mlp.gate_proj.weight", {F, C}, true);
    L->up = add(p + "mlp.up_proj.weight", {F, C}, true);
    L->down = add(p + "mlp.down_proj.weight", {C, F}, true);
  } else {
    const int64_t E = c.n_routed_experts, F = c.moe_intermediate_size;
    check_router_spec(router_spec(c));
    L->router = add(p + "mlp.gate.weight", {E, C}, true);
    if (c.topk_method == TopkMethod::NoAuxTc)
      L->router_bias = add(p + "mlp.gate.e_score_correction_bias", {E}, false, false);
    for (int64_t e = 0; e < E; ++e) {
      const std::string q = p + "mlp.experts." + std::to_string(e) + ".";
      L->experts.push_back({add(q + "gate_proj.weight", {F, C}, true), add(q + "up_proj.weight", {F, C}, true),
                            add(q + "down_proj.weight", {C, F}, true)});
    }
    if (c.n_shared_experts > 0) {
      const int64_t SF = F * c.n_shared_experts;
      L->sg = add(p + "mlp.shared_experts.gate_proj.weight", {SF, C}, true);
      L->su = add(p + "mlp.shared_experts.up_proj.weight", {SF, C}, true);
      L->sd = add(p + "mlp.shared_experts.down_proj.weight", {C, SF}, true);
    }
  }
  return L;
}

TrainModel::TrainModel(const ModelConfig& c, TrainOptions options)
    : config_(c), options_(options), acts_(std::make_unique<Acts>()) {
  keep_step_buffers_on_heap();
  if (c.attention_bias && c.is_deepseek()) fail("train: DeepSeek attention_bias = true is not supported");
  const int64_t C = c.hidden_size, V = c.vocab_size;
  add("model.embed_tokens.weight", {V, C}, true);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) layers_.push_back(add_layer(l));
  add("model.norm.weight", {C}, false);
  if (!c.tie_word_embeddings) add("lm_head.weight", {V, C}, true);
  if (c.is_deepseek() && c.num_nextn_predict_layers > 0) {
    // Only the first MTP depth trains (DeepSeek-V3 ships exactly one). Its copies of the
    // embedding and head in real checkpoints are the main model's, so they are not parameters.
    const int64_t l = c.num_hidden_layers;
    const std::string p = "model.layers." + std::to_string(l) + ".";
    enorm_ = add(p + "enorm.weight", {C}, false);
    hnorm_ = add(p + "hnorm.weight", {C}, false);
    eh_proj_ = add(p + "eh_proj.weight", {C, 2 * C}, true);
    mtp_ = add_layer(l);
    mtp_norm_ = add(p + "shared_head.norm.weight", {C}, false);
  }
  grads_.assign(data_.size(), 0.0f);
}

TrainModel::~TrainModel() = default;

const Param& TrainModel::param(const std::string& name) const {
  for (const Param& p : params_)
    if (p.name == name) return p;
  fail("train: model has no parameter '{}'", name);
}

void TrainModel::init_random(uint64_t seed, float std) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, std);
  for (const Param& p : params_) {
    float* d = data_.data() + p.offset;
    const bool is_norm = p.name.find("norm.weight") != std::string::npos;
    if (p.shape.size() >= 2) {
      for (size_t i = 0; i < p.size; ++i) d[i] = normal(rng);
    } else {
      std::fill(d, d + p.size, is_norm ? 1.0f : 0.0f);
    }
  }
}

void TrainModel::load(const WeightStore& ws) {
  for (const Param& p : params_) {
    const TensorView* t = ws.find(p.name);
    if (!t) {
      if (!p.trainable) continue;  // e.g. a checkpoint without a correction bias starts at zero
      ws.get(p.name);              // throws the store's "missing tensor" error
    }
    const TensorView& v = ws.get(p.name, p.shape);
    dequantize_rows(v, 0, v.rows(), data_.data() + p.offset);
  }
}

void TrainModel::zero_grad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

std::vector<std::vector<int64_t>> TrainModel::expert_load() const {
  std::vector<std::vector<int64_t>> out;
  for (const auto& L : layers_)
    if (L->moe) out.push_back(L->moe_acts.load());
  return out;
}

float TrainModel::forward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t S, float mtp_weight) {
  return run(tokens, targets, B, S, mtp_weight, false);
}

float TrainModel::forward_backward(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t S,
                                   float mtp_weight) {
  return run(tokens, targets, B, S, mtp_weight, true);
}

float TrainModel::run(const int32_t* tokens, const int32_t* targets, int64_t B, int64_t S, float mtp_weight,
                      bool backward) {
  const ModelConfig& c = config_;
  const int64_t T = B * S, C = c.hidden_size, V = c.vocab_size;
  const float eps = float(c.rms_norm_eps);
  const bool use_mtp = mtp_weight != 0.0f;
  if (use_mtp && !mtp_) fail("train: an MTP loss weight needs a model with num_nextn_predict_layers >= 1");
  if (use_mtp && S < 2) fail("train: the MTP loss needs sequences of at least 2 tokens");
  const BF16Scope precision(options_.bf16);
  const WeightPackScope weight_packs;  // parameters stay fixed until run() returns
  float* P = data_.data();
  float* G = grads_.data();
  auto at = [&](size_t off) -> float* { return off == kNone ? nullptr : P + off; };
  auto gat = [&](size_t off) -> float* { return off == kNone ? nullptr : G + off; };
  const size_t embed = param("model.embed_tokens.weight").offset;
  const size_t head = c.tie_word_embeddings ? embed : param("lm_head.weight").offset;
  const size_t norm = param("model.norm.weight").offset;
  Acts& A = *acts_;

  const GqaSpec gspec = c.is_deepseek() ? GqaSpec{} : gqa_spec(c);
  const MlaSpec mspec = c.is_deepseek() ? mla_spec(c) : MlaSpec{};
  auto gqa_w = [&](const Layer& L) {
    return GqaWeights{at(L.q), at(L.k), at(L.v), at(L.o), at(L.bq), at(L.bk), at(L.bv)};
  };
  auto mla_w = [&](const Layer& L) {
    return MlaWeights{at(L.q_proj), at(L.q_a), at(L.q_a_norm), at(L.q_b), at(L.kv_a), at(L.kv_a_norm), at(L.kv_b), at(L.o)};
  };
  auto mlp_w = [&](const Layer& L) { return MlpWeights{at(L.gate), at(L.up), at(L.down), C, c.intermediate_size}; };
  auto moe_w = [&](const Layer& L) {
    MoeWeights w;
    w.router = router_spec(c);
    w.C = C;
    w.gate = at(L.router);
    w.gate_bias = at(L.router_bias);
    for (const auto& e : L.experts) w.experts.push_back({at(e[0]), at(e[1]), at(e[2]), C, c.moe_intermediate_size});
    if (L.sg != kNone) w.shared = {at(L.sg), at(L.su), at(L.sd), C, c.moe_intermediate_size * c.n_shared_experts};
    return w;
  };
  // One pre-norm block in place on x [b·s, C]: x = h + ffn(norm2(h)), h = x + attn(norm1(x)).
  auto block_forward = [&](Layer& L, std::vector<float>& x, const int32_t* pos, int64_t b, int64_t s) {
    const int64_t n = b * s;
    std::vector<float> tmp(x.size());
    L.x_in = x;
    L.n1.resize(x.size());
    L.rstd1.resize(size_t(n));
    rmsnorm_forward(L.n1.data(), L.rstd1.data(), x.data(), P + L.in_norm, n, C, eps);
    if (c.is_deepseek()) mla_forward(mspec, mla_w(L), L.n1.data(), pos, b, s, tmp.data(), L.mla);
    else gqa_forward(gspec, gqa_w(L), L.n1.data(), pos, b, s, tmp.data(), L.gqa);
    L.h.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i) L.h[i] = x[i] + tmp[i];
    L.n2.resize(x.size());
    L.rstd2.resize(size_t(n));
    rmsnorm_forward(L.n2.data(), L.rstd2.data(), L.h.data(), P + L.post_norm, n, C, eps);
    if (L.moe) moe_forward(moe_w(L), L.n2.data(), n, tmp.data(), L.moe_acts);
    else mlp_forward(mlp_w(L), L.n2.data(), n, tmp.data(), L.mlp);
    for (size_t i = 0; i < x.size(); ++i) x[i] = L.h[i] + tmp[i];
  };
  // In place: dx holds d(block output) on entry and d(block input) on return.
  // balance_weight: this layer's weight of the balance loss in the total (0 for the MTP block).
  auto block_backward = [&](Layer& L, std::vector<float>& dx, const int32_t* pos, int64_t b, int64_t s,
                            float balance_weight) {
    const int64_t n = b * s;
    std::vector<float> dn(dx.size(), 0.0f);
    if (L.moe) {
      MoeGrads g;
      g.gate = gat(L.router);
      for (const auto& e : L.experts) g.experts.push_back({gat(e[0]), gat(e[1]), gat(e[2])});
      if (L.sg != kNone) g.shared = {gat(L.sg), gat(L.su), gat(L.sd)};
      moe_backward(moe_w(L), g, L.n2.data(), n, dx.data(), L.moe_acts, dn.data(), {s, balance_weight});
    } else {
      mlp_backward(mlp_w(L), MlpGrads{gat(L.gate), gat(L.up), gat(L.down)}, L.n2.data(), n, dx.data(), L.mlp, dn.data());
    }
    rmsnorm_backward(dx.data(), G + L.post_norm, dn.data(), L.h.data(), P + L.post_norm, L.rstd2.data(), n, C);
    std::fill(dn.begin(), dn.end(), 0.0f);
    if (c.is_deepseek()) {
      MlaGrads g{gat(L.q_proj), gat(L.q_a), gat(L.q_a_norm), gat(L.q_b), gat(L.kv_a), gat(L.kv_a_norm), gat(L.kv_b), gat(L.o)};
      mla_backward(mspec, mla_w(L), g, L.n1.data(), pos, b, s, dx.data(), L.mla, dn.data());
    } else {
      GqaGrads g{gat(L.q), gat(L.k), gat(L.v), gat(L.o), gat(L.bq), gat(L.bk), gat(L.bv)};
      gqa_backward(gspec, gqa_w(L), g, L.n1.data(), pos, b, s, dx.data(), L.gqa, dn.data());
    }
    rmsnorm_backward(dx.data(), G + L.in_norm, dn.data(), L.x_in.data(), P + L.in_norm, L.rstd1.data(), n, C);
  };

  // ---- main model forward
  A.pos.resize(size_t(T));
  for (int64_t t = 0; t < T; ++t) A.pos[size_t(t)] = int32_t(t % S);
  std::vector<float> x(size_t(T * C));
  embedding_forward(x.data(), tokens, P + embed, T, V, C);
  for (auto& L : layers_) block_forward(*L, x, A.pos.data(), B, S);
  int64_t n_moe = 0;
  double balance = 0;
  for (const auto& L : layers_) {
    if (!L->moe) continue;
    ++n_moe;
    balance += seq_balance_forward(router_spec(c), L->moe_acts.scores.data(), L->moe_acts.idx.data(), B, S);
  }
  balance_loss_ = n_moe ? float(balance / double(n_moe)) : 0.0f;
  const float alpha = n_moe ? options_.seq_aux_alpha : 0.0f;
  A.x_final = x;
  A.n_final.resize(x.size());
  A.rstd_final.resize(size_t(T));
  rmsnorm_forward(A.n_final.data(), A.rstd_final.data(), x.data(), P + norm, T, C, eps);
  A.logits.resize(size_t(T * V));
  A.lse.resize(size_t(T));
  linear_forward(A.logits.data(), A.n_final.data(), P + head, nullptr, T, C, V);
  main_loss_ = cross_entropy_forward(A.lse.data(), A.logits.data(), targets, T, V);

  // ---- MTP forward over the B·(S−1) positions that have a token i+1 to embed
  const int64_t S1 = S - 1, T1 = B * S1;
  std::vector<int32_t> mtp_tok, mtp_tgt, mtp_pos;
  std::vector<float> m_e, m_en, m_en_rstd, m_h, m_hn, m_hn_rstd, m_cat, m_x, m_xn, m_rstd, m_logits, m_lse;
  mtp_loss_ = 0.0f;
  if (use_mtp) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S1; ++s) {
        mtp_tok.push_back(tokens[b * S + s + 1]);
        mtp_tgt.push_back(targets[b * S + s + 1]);
        mtp_pos.push_back(int32_t(s));
      }
    m_e.resize(size_t(T1 * C));
    m_en.resize(m_e.size());
    m_en_rstd.resize(size_t(T1));
    embedding_forward(m_e.data(), mtp_tok.data(), P + embed, T1, V, C);
    rmsnorm_forward(m_en.data(), m_en_rstd.data(), m_e.data(), P + enorm_, T1, C, eps);
    m_h.resize(m_e.size());
    for (int64_t b = 0; b < B; ++b)
      std::copy_n(A.n_final.data() + b * S * C, S1 * C, m_h.data() + b * S1 * C);
    m_hn.resize(m_h.size());
    m_hn_rstd.resize(size_t(T1));
    rmsnorm_forward(m_hn.data(), m_hn_rstd.data(), m_h.data(), P + hnorm_, T1, C, eps);
    m_cat.resize(size_t(T1 * 2 * C));
    for (int64_t t = 0; t < T1; ++t) {  // [enorm(e) | hnorm(h)], the order of the released weights
      std::copy_n(m_en.data() + t * C, C, m_cat.data() + t * 2 * C);
      std::copy_n(m_hn.data() + t * C, C, m_cat.data() + t * 2 * C + C);
    }
    m_x.resize(size_t(T1 * C));
    linear_forward(m_x.data(), m_cat.data(), P + eh_proj_, nullptr, T1, 2 * C, C);
    block_forward(*mtp_, m_x, mtp_pos.data(), B, S1);
    m_xn.resize(m_x.size());
    m_rstd.resize(size_t(T1));
    rmsnorm_forward(m_xn.data(), m_rstd.data(), m_x.data(), P + mtp_norm_, T1, C, eps);
    m_logits.resize(size_t(T1 * V));
    m_lse.resize(size_t(T1));
    linear_forward(m_logits.data(), m_xn.data(), P + head, nullptr, T1, C, V);
    mtp_loss_ = cross_entropy_forward(m_lse.data(), m_logits.data(), mtp_tgt.data(), T1, V);
  }
  const float loss = main_loss_ + mtp_weight * mtp_loss_ + alpha * balance_loss_;
  if (!backward) return loss;

  // ---- backward (every op adds into its gradient buffers)
  std::vector<float> dn(size_t(T * C), 0.0f), dx(size_t(T * C), 0.0f);
  if (use_mtp) {
    std::vector<float> dxn(size_t(T1 * C), 0.0f), dmx(size_t(T1 * C), 0.0f);
    float* dlog = m_logits.data();  // overwritten with its gradient
    cross_entropy_backward_inplace(dlog, m_lse.data(), mtp_tgt.data(), T1, V, mtp_weight);
    linear_backward(dxn.data(), G + head, nullptr, dlog, m_xn.data(), P + head, T1, C, V);
    rmsnorm_backward(dmx.data(), G + mtp_norm_, dxn.data(), m_x.data(), P + mtp_norm_, m_rstd.data(), T1, C);
    block_backward(*mtp_, dmx, mtp_pos.data(), B, S1, 0.0f);
    std::vector<float> dcat(size_t(T1 * 2 * C), 0.0f), den(size_t(T1 * C)), dhn(size_t(T1 * C)),
        de(size_t(T1 * C), 0.0f), dh(size_t(T1 * C), 0.0f);
    linear_backward(dcat.data(), G + eh_proj_, nullptr, dmx.data(), m_cat.data(), P + eh_proj_, T1, 2 * C, C);
    for (int64_t t = 0; t < T1; ++t) {
      std::copy_n(dcat.data() + t * 2 * C, C, den.data() + t * C);
      std::copy_n(dcat.data() + t * 2 * C + C, C, dhn.data() + t * C);
    }
    rmsnorm_backward(de.data(), G + enorm_, den.data(), m_e.data(), P + enorm_, m_en_rstd.data(), T1, C);
    embedding_backward(G + embed, de.data(), mtp_tok.data(), T1, C);
    rmsnorm_backward(dh.data(), G + hnorm_, dhn.data(), m_h.data(), P + hnorm_, m_hn_rstd.data(), T1, C);
    for (int64_t b = 0; b < B; ++b)  // back into the main model's final normed hidden states
      for (int64_t i = 0; i < S1 * C; ++i) dn[size_t(b * S * C + i)] += dh[size_t(b * S1 * C + i)];
  }
  {
    float* dlogits = A.logits.data();  // overwritten with its gradient
    cross_entropy_backward_inplace(dlogits, A.lse.data(), targets, T, V, 1.0f);
    linear_backward(dn.data(), G + head, nullptr, dlogits, A.n_final.data(), P + head, T, C, V);
  }
  rmsnorm_backward(dx.data(), G + norm, dn.data(), A.x_final.data(), P + norm, A.rstd_final.data(), T, C);
  const float layer_balance = alpha != 0.0f ? alpha / float(n_moe) : 0.0f;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
    block_backward(**it, dx, A.pos.data(), B, S, layer_balance);
  embedding_backward(G + embed, dx.data(), tokens, T, C);
  return loss;
}

}  // namespace sputnik::train
