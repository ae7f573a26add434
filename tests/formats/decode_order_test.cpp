// decode_order: tensors laid out in the order a decode step reads them (formats/decode_tiles.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "formats/decode_tiles.h"

namespace sputnik {
namespace {

TEST(DecodeOrder, LayersByNumberAttentionThenMlpInUseOrder) {
  const std::vector<std::string> want = {
      "model.embed_tokens.weight",
      "model.layers.2.input_layernorm.weight",
      "model.layers.2.self_attn.q_proj.weight",
      "model.layers.2.self_attn.q_proj.bias",
      "model.layers.2.self_attn.k_proj.weight",
      "model.layers.2.self_attn.v_proj.weight",
      "model.layers.2.self_attn.o_proj.weight",
      "model.layers.2.post_attention_layernorm.weight",
      "model.layers.2.mlp.gate_proj.weight",
      "model.layers.2.mlp.up_proj.weight",
      "model.layers.2.mlp.down_proj.weight",
      "model.layers.10.self_attn.q_a_proj.weight",
      "model.layers.10.self_attn.q_a_layernorm.weight",
      "model.layers.10.self_attn.q_b_proj.weight",
      "model.layers.10.self_attn.kv_a_proj_with_mqa.weight",
      "model.layers.10.self_attn.kv_a_layernorm.weight",
      "model.layers.10.self_attn.kv_b_proj.weight",
      "model.layers.10.self_attn.o_proj.weight",
      "model.layers.10.mlp.gate.weight",
      "model.layers.10.mlp.shared_experts.gate_proj.weight",
      "model.layers.10.mlp.shared_experts.up_proj.weight",
      "model.layers.10.mlp.shared_experts.down_proj.weight",
      "model.layers.10.mlp.experts.9.gate_proj.weight",
      "model.layers.10.mlp.experts.9.up_proj.weight",
      "model.layers.10.mlp.experts.9.down_proj.weight",
      "model.layers.10.mlp.experts.10.gate_proj.weight",
      "model.layers.10.mlp.experts.10.up_proj.weight",
      "model.layers.10.mlp.experts.10.down_proj.weight",
      "model.norm.weight",
      "lm_head.weight",
  };
  std::vector<std::string> shuffled = want;
  std::mt19937 rng(5);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    EXPECT_EQ(decode_order(shuffled), want);
  }
}

}  // namespace
}  // namespace sputnik
