// TrainModel: whole-model finite differences (also run under ASan), loading from a WeightStore,
// bad input, and AdamW actually fitting a small batch.
#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "formats/weight_store.h"
#include "gradcheck.h"
#include "models/config.h"
#include "train/adamw.h"
#include "train/model.h"

namespace sputnik::train {
namespace {

using nlohmann::json;

// The loss as a finite-difference probe sees it. Top-k routing is piecewise constant: a probe
// that flips an expert choice measures a jump, not the gradient, so each probe also checks that
// the routing is the one the analytic gradient was taken at.
auto loss_with_fixed_routing(TrainModel& m, const std::vector<int32_t>& tok, const std::vector<int32_t>& tgt,
                             int64_t B, int64_t S) {
  return [&m, &tok, &tgt, B, S, load0 = m.expert_load()] {
    const double l = m.forward(tok.data(), tgt.data(), B, S);
    EXPECT_EQ(m.expert_load(), load0) << "routing changed under a probe";
    return l;
  };
}

json tiny_v3() {
  return {{"model_type", "deepseek_v3"}, {"vocab_size", 24}, {"hidden_size", 16}, {"intermediate_size", 20},
          {"moe_intermediate_size", 8}, {"num_hidden_layers", 2}, {"first_k_dense_replace", 1},
          {"num_attention_heads", 2}, {"q_lora_rank", 8}, {"kv_lora_rank", 6}, {"qk_nope_head_dim", 4},
          {"qk_rope_head_dim", 4}, {"v_head_dim", 4}, {"n_routed_experts", 4}, {"num_experts_per_tok", 2},
          {"n_group", 2}, {"topk_group", 1}, {"n_shared_experts", 1}, {"norm_topk_prob", true},
          {"routed_scaling_factor", 2.5}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}};
}

json tiny_qwen2() {
  return {{"model_type", "qwen2"}, {"vocab_size", 32}, {"hidden_size", 32}, {"intermediate_size", 64},
          {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", true}};
}

TEST(TrainModel, FiniteDifferencesDeepSeekV3) {
  TrainModel m(parse_model_config(tiny_v3(), "tiny_v3"));
  m.init_random(7, 0.3f);
  const int64_t B = 2, S = 5;
  std::vector<int32_t> tok = {1, 5, 9, 3, 22, 7, 7, 0, 13, 2};
  std::vector<int32_t> tgt = {5, 9, 3, 22, -100, 7, 0, 13, 2, -100};
  m.zero_grad();
  m.forward_backward(tok.data(), tgt.data(), B, S);
  std::mt19937 rng(8);
  auto loss = loss_with_fixed_routing(m, tok, tgt, B, S);
  const testing::GradCheck opt{.samples = 6, .eps = 2e-3f, .rtol = 3e-2, .atol = 3e-4, .norm_rtol = 2e-2};
  for (const char* name : {"model.embed_tokens.weight", "model.layers.0.self_attn.q_a_proj.weight",
                           "model.layers.0.self_attn.kv_b_proj.weight", "model.layers.0.self_attn.kv_a_layernorm.weight",
                           "model.layers.1.mlp.gate.weight", "model.layers.1.mlp.shared_experts.down_proj.weight",
                           "model.layers.1.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight"}) {
    const Param& p = m.param(name);
    testing::expect_grad(name, m.data(name), m.grad(name), p.size, loss, rng, opt);
  }
  EXPECT_FALSE(m.param("model.layers.1.mlp.gate.e_score_correction_bias").trainable);
}

TEST(TrainModel, FiniteDifferencesMtp) {
  json cfg = tiny_v3();
  cfg["num_nextn_predict_layers"] = 1;
  TrainModel m(parse_model_config(cfg, "tiny_v3_mtp"));
  ASSERT_TRUE(m.has_mtp());
  m.init_random(9, 0.3f);
  const int64_t B = 2, S = 5;
  std::vector<int32_t> tok = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
  std::vector<int32_t> tgt = {1, 4, 1, 5, -100, 2, 6, 5, 3, -100};
  const float lambda = 0.5f;
  m.zero_grad();
  const float total = m.forward_backward(tok.data(), tgt.data(), B, S, lambda);
  EXPECT_NEAR(total, m.last_main_loss() + lambda * m.last_mtp_loss(), 1e-5);
  EXPECT_GT(m.last_mtp_loss(), 0.0f);
  std::mt19937 rng(10);
  auto loss = [&] { return double(m.forward(tok.data(), tgt.data(), B, S, lambda)); };
  const testing::GradCheck opt{.samples = 6, .eps = 2e-3f, .rtol = 3e-2, .atol = 3e-4, .norm_rtol = 2e-2};
  for (const char* name : {"model.layers.2.eh_proj.weight", "model.layers.2.enorm.weight", "model.layers.2.hnorm.weight",
                           "model.layers.2.shared_head.norm.weight", "model.layers.2.self_attn.kv_b_proj.weight",
                           "model.norm.weight", "model.embed_tokens.weight"}) {
    testing::expect_grad(name, m.data(name), m.grad(name), m.param(name).size, loss, rng, opt);
  }
  TrainModel plain(parse_model_config(tiny_v3(), "tiny_v3"));
  EXPECT_THROW(plain.forward(tok.data(), tgt.data(), B, S, lambda), Error);  // no MTP module
}

TEST(TrainModel, FiniteDifferencesBalanceLoss) {
  const float alpha = 0.5f;  // far above real runs' 1e-4 so the term dominates the router's gradient
  TrainModel m(parse_model_config(tiny_v3(), "tiny_v3"), {.seq_aux_alpha = alpha});
  m.init_random(13, 0.3f);
  const int64_t B = 2, S = 5;
  std::vector<int32_t> tok = {2, 6, 1, 8, 3, 4, 4, 9, 0, 11};
  std::vector<int32_t> tgt = {6, 1, 8, 3, -100, 4, 9, 0, 11, -100};
  m.zero_grad();
  const float total = m.forward_backward(tok.data(), tgt.data(), B, S);
  EXPECT_GT(m.last_balance_loss(), 0.0f);
  EXPECT_NEAR(total, m.last_main_loss() + alpha * m.last_balance_loss(), 1e-5);
  const std::string gate = "model.layers.1.mlp.gate.weight";
  const std::vector<float> g_alpha(m.grad(gate), m.grad(gate) + m.param(gate).size);
  std::mt19937 rng(14);
  auto loss = loss_with_fixed_routing(m, tok, tgt, B, S);
  const testing::GradCheck opt{.samples = 10, .eps = 2e-3f, .rtol = 3e-2, .atol = 3e-4, .norm_rtol = 2e-2};
  for (const char* name : {"model.layers.1.mlp.gate.weight", "model.layers.1.post_attention_layernorm.weight",
                           "model.layers.0.self_attn.q_a_proj.weight", "model.embed_tokens.weight"}) {
    testing::expect_grad(name, m.data(name), m.grad(name), m.param(name).size, loss, rng, opt);
  }
  // The same model without the term: the loss drops by α·balance and the router's gradient changes.
  m.set_options({});
  m.zero_grad();
  const float plain = m.forward_backward(tok.data(), tgt.data(), B, S);
  EXPECT_NEAR(plain, m.last_main_loss(), 1e-6);
  double diff = 0;
  for (size_t i = 0; i < g_alpha.size(); ++i) diff = std::max(diff, double(std::abs(g_alpha[i] - m.grad(gate)[i])));
  EXPECT_GT(diff, 1e-4);
  // Qwen2 has no MoE layer: nothing to balance.
  TrainModel q(parse_model_config(tiny_qwen2(), "tiny_qwen2"), {.seq_aux_alpha = alpha});
  q.init_random(1);
  std::vector<int32_t> qt = {1, 2, 3}, qy = {2, 3, 4};
  const float ql = q.forward(qt.data(), qy.data(), 1, 3);
  EXPECT_NEAR(ql, q.last_main_loss(), 1e-6);
  EXPECT_EQ(q.last_balance_loss(), 0.0f);
}

TEST(TrainModel, Bf16GradientsCloseToF32) {
  for (const json& cfg : {tiny_qwen2(), tiny_v3()}) {
    const ModelConfig c = parse_model_config(cfg, "tiny");
    TrainModel f32(c), bf(c, {.bf16 = true});
    f32.init_random(21, 0.2f);
    bf.data() = f32.data();
    std::mt19937 rng(22);
    std::uniform_int_distribution<int32_t> tok(0, int32_t(c.vocab_size - 1));
    const int64_t B = 2, S = 12;
    std::vector<int32_t> x(size_t(B * S)), y(size_t(B * S));
    for (auto& t : x) t = tok(rng);
    for (auto& t : y) t = tok(rng);
    f32.zero_grad();
    bf.zero_grad();
    const float l32 = f32.forward_backward(x.data(), y.data(), B, S);
    const float l16 = bf.forward_backward(x.data(), y.data(), B, S);
    EXPECT_NEAR(l16, l32, 1e-2f * l32) << c.model_type;
    const bool same_routing = f32.expert_load() == bf.expert_load();
    double diff2 = 0, ref2 = 0;
    for (const Param& p : f32.params()) {
      if (!p.trainable) continue;
      double d2 = 0, r2 = 0;
      for (size_t i = p.offset; i < p.offset + p.size; ++i) {
        const double d = double(bf.grads()[i]) - f32.grads()[i];
        d2 += d * d;
        r2 += double(f32.grads()[i]) * f32.grads()[i];
      }
      diff2 += d2;
      ref2 += r2;
      // Per tensor only where routing agreed (a flipped choice moves whole expert gradients).
      if (same_routing && r2 > 1e-12) {
        EXPECT_LT(std::sqrt(d2 / r2), 6e-2) << c.model_type << " " << p.name;
      }
    }
    const double rel = std::sqrt(diff2 / ref2);  // all gradients together
    EXPECT_LT(rel, 3e-2) << c.model_type;
    EXPECT_GT(rel, 1e-5) << c.model_type << ": bf16 gradients equal f32's, so bf16 was not used";
  }
}

TEST(TrainModel, Bf16TrainingLowersTheLossLikeF32) {
  const ModelConfig c = parse_model_config(tiny_qwen2(), "tiny_qwen2");
  std::mt19937 rng(12);
  std::uniform_int_distribution<int32_t> tok(0, 31);
  const int64_t B = 2, S = 16;
  std::vector<int32_t> x(size_t(B * S)), y(size_t(B * S));
  for (auto& t : x) t = tok(rng);
  for (int64_t i = 0; i < B * S; ++i) y[size_t(i)] = (i + 1) % S ? x[size_t(i + 1)] : -100;
  std::vector<float> last;
  for (bool bf16 : {false, true}) {
    TrainModel m(c, {.bf16 = bf16});
    m.init_random(11);
    AdamW opt(m.params(), m.data().size(), {.weight_decay = 0.0f});
    float first = 0, l = 0;
    for (int step = 0; step < 30; ++step) {
      m.zero_grad();
      l = m.forward_backward(x.data(), y.data(), B, S);
      if (step == 0) first = l;
      clip_grad_norm(m.params(), m.grads().data(), 1.0f);
      opt.step(m.data().data(), m.grads().data(), 1e-2f);
    }
    EXPECT_LT(l, 0.6f * first) << (bf16 ? "bf16" : "f32");
    last.push_back(l);
  }
  EXPECT_NEAR(last[1], last[0], 0.15f * last[0]) << "bf16 training should follow f32's loss curve";
}

TEST(TrainModel, LoadsFromWeightStoreAndRejectsBadInput) {
  const ModelConfig cfg = parse_model_config(tiny_qwen2(), "tiny_qwen2");
  TrainModel src(cfg);
  src.init_random(3);
  WeightStore ws;
  ws.source = "memory";
  for (const Param& p : src.params()) {
    TensorView v;
    v.name = p.name;
    v.dtype = DType::F32;
    v.shape = p.shape;
    v.nbytes = p.size * 4;
    std::byte* buf = ws.allocate(v.nbytes);
    std::memcpy(buf, src.data().data() + p.offset, v.nbytes);
    v.data = buf;
    ws.add(v);
  }
  TrainModel dst(cfg);
  dst.load(ws);
  EXPECT_EQ(dst.data(), src.data());

  WeightStore missing;
  missing.source = "memory";
  EXPECT_THROW(dst.load(missing), Error);
  std::vector<int32_t> tok = {1, 2, 99}, tgt = {2, 3, 4};
  EXPECT_THROW(dst.forward(tok.data(), tgt.data(), 1, 3), Error);  // token outside the vocabulary
}

TEST(TrainModel, AdamWFitsABatch) {
  TrainModel m(parse_model_config(tiny_qwen2(), "tiny_qwen2"));
  m.init_random(11);
  std::mt19937 rng(12);
  std::uniform_int_distribution<int32_t> tok(0, 31);
  const int64_t B = 2, S = 16;
  std::vector<int32_t> x(size_t(B * S)), y(size_t(B * S));
  for (auto& t : x) t = tok(rng);
  for (int64_t i = 0; i < B * S; ++i) y[size_t(i)] = (i + 1) % S ? x[size_t(i + 1)] : -100;
  AdamW opt(m.params(), m.data().size(), {.weight_decay = 0.0f});
  float first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    m.zero_grad();
    last = m.forward_backward(x.data(), y.data(), B, S);
    if (step == 0) first = last;
    clip_grad_norm(m.params(), m.grads().data(), 1.0f);
    opt.step(m.data().data(), m.grads().data(), 1e-2f);
  }
  EXPECT_NEAR(first, std::log(32.0f), 0.3f);  // small init: close to uniform
  EXPECT_LT(last, 0.5f * first) << "40 AdamW steps on one batch should memorize much of it";
}

}  // namespace
}  // namespace sputnik::train
