// DeepSeek routing on hand-made router logits, where the right answer is known by inspection.
#include <gtest/gtest.h>

#include <cmath>

#include "models/moe.h"

using namespace sputnik;

namespace {

ModelConfig v3_router() {
  ModelConfig c;
  c.arch = Arch::DeepSeekV3;
  c.n_routed_experts = 8;
  c.num_experts_per_tok = 2;
  c.scoring_func = ScoringFunc::Sigmoid;
  c.topk_method = TopkMethod::NoAuxTc;
  c.n_group = 2;
  c.topk_group = 1;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 2.5;
  return c;
}

float logit(float p) { return std::log(p / (1 - p)); }  // sigmoid^-1

TEST(Router, NoAuxTcPicksTheGroupWithTheBestTopTwoSum) {
  const ModelConfig c = v3_router();
  // Group 0 holds the single best expert (0.95) but its top-2 sum is 1.05; group 1 sums 1.4.
  float lg[8] = {logit(0.95f), logit(0.1f), logit(0.05f), logit(0.05f),
                 logit(0.7f),  logit(0.7f), logit(0.6f),  logit(0.1f)};
  int32_t ex[2];
  float w[2];
  route_token(c, lg, nullptr, ex, w);
  EXPECT_EQ(std::min(ex[0], ex[1]), 4);
  EXPECT_EQ(std::max(ex[0], ex[1]), 5);
  // Normalized then scaled: the weights sum to routed_scaling_factor.
  EXPECT_NEAR(w[0] + w[1], 2.5f, 1e-5);
  EXPECT_NEAR(w[0], 1.25f, 1e-5);
}

TEST(Router, CorrectionBiasChoosesButDoesNotWeigh) {
  const ModelConfig c = v3_router();
  float lg[8] = {logit(0.95f), logit(0.1f), logit(0.05f), logit(0.05f),
                 logit(0.7f),  logit(0.7f), logit(0.6f),  logit(0.1f)};
  // Bias lifts group 0's second expert: group 0 now sums 0.95 + 0.6 = 1.55 > 1.4.
  float bias[8] = {0, 0.5f, 0, 0, 0, 0, 0, 0};
  int32_t ex[2];
  float w[2];
  route_token(c, lg, bias, ex, w);
  EXPECT_EQ(std::min(ex[0], ex[1]), 0);
  EXPECT_EQ(std::max(ex[0], ex[1]), 1);
  // Weights from unbiased sigmoid scores 0.95 and 0.1.
  const float w0 = ex[0] == 0 ? w[0] : w[1];
  EXPECT_NEAR(w0, 2.5f * 0.95f / 1.05f, 1e-5);
}

TEST(Router, V2SoftmaxGroupMaxAndScaling) {
  ModelConfig c;
  c.arch = Arch::DeepSeekV2;
  c.n_routed_experts = 4;
  c.num_experts_per_tok = 2;
  c.scoring_func = ScoringFunc::Softmax;
  c.topk_method = TopkMethod::GroupLimitedGreedy;
  c.n_group = 2;
  c.topk_group = 1;
  c.norm_topk_prob = false;
  c.routed_scaling_factor = 16.0;
  // Group 1 holds the max (3.0): both picks come from it, although expert 0 beats expert 3.
  float lg[4] = {2.0f, 0.0f, 3.0f, 1.0f};
  int32_t ex[2];
  float w[2];
  route_token(c, lg, nullptr, ex, w);
  EXPECT_EQ(ex[0], 2);
  EXPECT_EQ(ex[1], 3);
  const double z = std::exp(2.0) + 1 + std::exp(3.0) + std::exp(1.0);
  EXPECT_NEAR(w[0], 16.0 * std::exp(3.0) / z, 1e-4);
  EXPECT_NEAR(w[1], 16.0 * std::exp(1.0) / z, 1e-4);
  // V2 with normalization: weights sum to 1, no scaling (HF DeepSeek-V2 semantics).
  c.norm_topk_prob = true;
  route_token(c, lg, nullptr, ex, w);
  EXPECT_NEAR(w[0] + w[1], 1.0f, 1e-6);
}

}  // namespace
