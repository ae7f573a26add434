// Builds tiny Qwen2 / DeepSeek-V2 / DeepSeek-V3 models with random weights, runs TrainModel's
// forward + backward on a random batch and writes config.json, every parameter, the batch, the
// loss and every gradient as .npy for reference_model.py. Usage: train_model_driver OUTDIR
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "models/config.h"
#include "npy_writer.h"
#include "train/model.h"

namespace sputnik::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json qwen2() {
  return {{"model_type", "qwen2"}, {"vocab_size", 64}, {"hidden_size", 32}, {"intermediate_size", 48},
          {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"num_key_value_heads", 2},
          {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"tie_word_embeddings", false}, {"hidden_act", "silu"},
          {"rope_scaling", {{"type", "yarn"}, {"factor", 2.0}, {"original_max_position_embeddings", 4}}}};
}

json deepseek_v3() {
  return {{"model_type", "deepseek_v3"}, {"vocab_size", 64}, {"hidden_size", 32}, {"intermediate_size", 48},
          {"moe_intermediate_size", 16}, {"num_hidden_layers", 3}, {"first_k_dense_replace", 1},
          {"num_attention_heads", 4}, {"q_lora_rank", 16}, {"kv_lora_rank", 12}, {"qk_nope_head_dim", 8},
          {"qk_rope_head_dim", 4}, {"v_head_dim", 8}, {"n_routed_experts", 8}, {"num_experts_per_tok", 2},
          {"n_group", 4}, {"topk_group", 2}, {"n_shared_experts", 1}, {"norm_topk_prob", true},
          {"routed_scaling_factor", 2.5}, {"scoring_func", "sigmoid"}, {"topk_method", "noaux_tc"},
          {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"tie_word_embeddings", false}, {"hidden_act", "silu"}, {"num_nextn_predict_layers", 1},
          {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 4},
                            {"beta_fast", 32}, {"beta_slow", 1}, {"mscale", 1.0}, {"mscale_all_dim", 1.0}}}};
}

json deepseek_v2() {
  return {{"model_type", "deepseek_v2"}, {"vocab_size", 64}, {"hidden_size", 32}, {"intermediate_size", 48},
          {"moe_intermediate_size", 16}, {"num_hidden_layers", 2}, {"first_k_dense_replace", 1},
          {"num_attention_heads", 4}, {"q_lora_rank", nullptr}, {"kv_lora_rank", 12}, {"qk_nope_head_dim", 8},
          {"qk_rope_head_dim", 4}, {"v_head_dim", 6}, {"n_routed_experts", 6}, {"num_experts_per_tok", 2},
          {"n_group", 1}, {"topk_group", 1}, {"n_shared_experts", 2}, {"norm_topk_prob", false},
          {"routed_scaling_factor", 1.5}, {"scoring_func", "softmax"}, {"topk_method", "greedy"},
          {"max_position_embeddings", 64}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0},
          {"tie_word_embeddings", true}, {"hidden_act", "silu"}};
}

void run_case(const fs::path& root, const std::string& name, const json& cfg, uint64_t seed, float mtp_weight = 0.0f,
              float balance_alpha = 0.0f) {
  const fs::path dir = root / name;
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << cfg.dump(1);
  TrainModel m(parse_model_config(cfg, name), {.seq_aux_alpha = balance_alpha});
  // Larger than HF's 0.02 so that every nonlinearity matters in the comparison.
  m.init_random(seed, 0.2f);
  std::mt19937 rng{static_cast<uint32_t>(seed)};
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const Param& p : m.params())  // norms away from exactly 1, selection bias nonzero
    if (p.shape.size() == 1)
      for (size_t i = 0; i < p.size; ++i) m.data()[p.offset + i] += (p.trainable ? 0.2f : 0.05f) * nd(rng);
  const int64_t B = 2, S = 7, V = cfg["vocab_size"];
  std::uniform_int_distribution<int32_t> tok(0, int32_t(V - 1));
  std::vector<int32_t> tokens(size_t(B * S)), targets(size_t(B * S));
  for (auto& t : tokens) t = tok(rng);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      targets[size_t(b * S + s)] = s + 1 < S ? tokens[size_t(b * S + s + 1)] : -100;
  targets[2] = -100;  // an SFT-style masked position
  m.zero_grad();
  const float loss = m.forward_backward(tokens.data(), targets.data(), B, S, mtp_weight);
  testing::write_npy((dir / "mtp_weight.npy").string(), std::vector<float>{mtp_weight}, {});
  testing::write_npy((dir / "balance_alpha.npy").string(), std::vector<float>{balance_alpha}, {});
  testing::write_npy((dir / "tokens.npy").string(), tokens, {B, S});
  testing::write_npy((dir / "targets.npy").string(), targets, {B, S});
  testing::write_npy((dir / "loss.npy").string(), std::vector<float>{loss}, {});
  for (const Param& p : m.params()) {
    std::vector<float> v(m.data().begin() + long(p.offset), m.data().begin() + long(p.offset + p.size));
    testing::write_npy((dir / ("param." + p.name + ".npy")).string(), v, p.shape);
    if (!p.trainable) continue;
    std::vector<float> g(m.grads().begin() + long(p.offset), m.grads().begin() + long(p.offset + p.size));
    testing::write_npy((dir / ("grad." + p.name + ".npy")).string(), g, p.shape);
  }
  std::printf("%s: loss %.6f, %zu parameters\n", name.c_str(), loss, m.params().size());
}

}  // namespace
}  // namespace sputnik::train

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  try {
    using namespace sputnik::train;
    run_case(argv[1], "qwen2", qwen2(), 1);
    run_case(argv[1], "deepseek_v3", deepseek_v3(), 2, 0.3f);  // with the MTP module
    run_case(argv[1], "deepseek_v2", deepseek_v2(), 3);
    // The sequence-wise balance loss with a large α, so that it visibly moves the routers.
    run_case(argv[1], "v3_balance", deepseek_v3(), 4, 0.0f, 0.7f);
    run_case(argv[1], "v2_balance", deepseek_v2(), 5, 0.0f, 0.7f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_model_driver: %s\n", e.what());
    return 1;
  }
  return 0;
}
