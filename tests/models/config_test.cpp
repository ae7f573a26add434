#include "models/config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tiny_model.h"

using namespace sputnik;

namespace {

std::string error_of(const nlohmann::json& j) {
  try {
    parse_model_config(j, "cfg.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelConfig, RejectsUnknownArchitectureAndMissingFields) {
  auto j = test::qwen2_config();
  j["model_type"] = "llama";
  EXPECT_NE(error_of(j).find("model_type 'llama'"), std::string::npos) << error_of(j);
  j.erase("model_type");
  EXPECT_NE(error_of(j).find("'model_type'"), std::string::npos);

  auto d = test::deepseek_config();
  d.erase("kv_lora_rank");
  EXPECT_NE(error_of(d).find("cfg.json"), std::string::npos);
  EXPECT_NE(error_of(d).find("'kv_lora_rank'"), std::string::npos) << error_of(d);
  d = test::deepseek_config();
  d.erase("moe_intermediate_size");
  EXPECT_NE(error_of(d).find("'moe_intermediate_size'"), std::string::npos);
  d = test::deepseek_config();
  d["hidden_size"] = "big";
  EXPECT_NE(error_of(d).find("'hidden_size' must be an integer"), std::string::npos);
  d = test::deepseek_config();
  d["n_group"] = 3;  // 4 experts do not split into 3 groups
  EXPECT_NE(error_of(d).find("n_group"), std::string::npos);
  d = test::deepseek_config();
  d["rope_scaling"] = {{"type", "dynamic"}, {"factor", 2.0}};
  EXPECT_NE(error_of(d).find("dynamic"), std::string::npos);
}

TEST(ModelConfig, DeepSeekV3Shape) {
  // The released DeepSeek-V3 config (fields that matter here).
  nlohmann::json j = {{"model_type", "deepseek_v3"}, {"vocab_size", 129280}, {"hidden_size", 7168},
                      {"intermediate_size", 18432}, {"moe_intermediate_size", 2048},
                      {"num_hidden_layers", 61}, {"num_attention_heads", 128}, {"n_shared_experts", 1},
                      {"n_routed_experts", 256}, {"routed_scaling_factor", 2.5}, {"kv_lora_rank", 512},
                      {"q_lora_rank", 1536}, {"qk_rope_head_dim", 64}, {"v_head_dim", 128},
                      {"qk_nope_head_dim", 128}, {"topk_method", "noaux_tc"}, {"n_group", 8},
                      {"topk_group", 4}, {"num_experts_per_tok", 8}, {"first_k_dense_replace", 3},
                      {"norm_topk_prob", true}, {"scoring_func", "sigmoid"}, {"num_nextn_predict_layers", 1},
                      {"rope_scaling", {{"beta_fast", 32}, {"beta_slow", 1}, {"factor", 40}, {"mscale", 1.0},
                                        {"mscale_all_dim", 1.0}, {"original_max_position_embeddings", 4096},
                                        {"type", "yarn"}}}};
  const ModelConfig c = parse_model_config(j, "v3");
  EXPECT_EQ(c.arch, Arch::DeepSeekV3);
  EXPECT_EQ(c.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::NoAuxTc);
  EXPECT_FALSE(c.is_moe_layer(2));
  EXPECT_TRUE(c.is_moe_layer(3));
  EXPECT_TRUE(c.yarn.enabled);
  EXPECT_EQ(c.yarn.factor, 40);
  // 512 latent + 64 rope key floats per layer: the MLA cache size DeepSeek quotes.
  EXPECT_EQ(c.kv_floats_per_token_layer(), 576);
  EXPECT_EQ(c.kv_bytes_per_token(), 576 * 4 * 61);
}

TEST(ModelConfig, NullQLoraMeansPlainQProj) {
  auto d = test::deepseek_config();
  d["q_lora_rank"] = nullptr;
  d["model_type"] = "deepseek_v2";
  const ModelConfig c = parse_model_config(d, "v2");
  EXPECT_EQ(c.q_lora_rank, 0);
  EXPECT_EQ(c.scoring_func, ScoringFunc::Softmax);  // V2 default
}

}  // namespace
