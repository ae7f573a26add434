#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "core/error.h"
#include "sampler_reference.h"

using namespace sputnik;

namespace {

SamplingParams plain(float temperature, uint64_t seed = 1) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = seed;
  return p;
}

std::vector<int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
  std::vector<int> h(logits.size());
  for (int i = 0; i < draws; ++i) ++h[size_t(s.sample(logits, {}))];
  return h;
}

}  // namespace

TEST(Sampler, GreedyPicksFirstMaximum) {
  Sampler s(SamplingParams::greedy());
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 3.0f}, {}), 1);
}

TEST(Sampler, FrequenciesFollowTemperedSoftmax) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f, 1.5f};
  for (float temp : {0.5f, 1.0f, 2.0f}) {
    Sampler s(plain(temp, 42));
    const int draws = 200000;
    auto h = histogram(s, logits, draws);
    double z = 0;
    for (float l : logits) z += std::exp(l / temp);
    double chi2 = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      const double expected = draws * std::exp(logits[i] / temp) / z;
      chi2 += (h[i] - expected) * (h[i] - expected) / expected;
    }
    EXPECT_LT(chi2, 16.3) << "temperature " << temp;  // p ~ 0.001 for 3 degrees of freedom
  }
}

TEST(Sampler, TopKLimitsSupport) {
  auto p = plain(1.0f);
  p.top_k = 2;
  Sampler s(p);
  auto h = histogram(s, {0.0f, 5.0f, 4.9f, 4.8f, 1.0f}, 5000);
  EXPECT_GT(h[1], 0);
  EXPECT_GT(h[2], 0);
  EXPECT_EQ(h[0] + h[3] + h[4], 0);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingMass) {
  // probabilities 0.5, 0.3, 0.2 -> top_p 0.7 keeps the first two.
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  auto p = plain(1.0f);
  p.top_p = 0.7f;
  Sampler s(p);
  auto h = histogram(s, logits, 20000);
  EXPECT_EQ(h[2], 0);
  EXPECT_NEAR(double(h[0]) / 20000, 0.5 / 0.8, 0.02);
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  auto p = plain(1.0f);
  p.min_p = 0.2f;  // floor = 0.12: drops the 0.1 token
  Sampler s(p);
  auto h = histogram(s, logits, 20000);
  EXPECT_EQ(h[2], 0);
  EXPECT_GT(h[1], 0);
}

TEST(Sampler, PenaltiesFollowOpenAiAndHfDefinitions) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  p.penalty_last_n = -1;
  std::vector<float> logits = {4.0f, -4.0f, 1.0f};
  const std::vector<int32_t> history = {0, 0, 1};
  apply_penalties(logits, history, p);
  EXPECT_FLOAT_EQ(logits[0], 4.0f / 2 - 2 * 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(logits[1], -4.0f * 2 - 0.25f - 0.5f);
  EXPECT_FLOAT_EQ(logits[2], 1.0f);
}

TEST(Sampler, PenaltyWindowOnlySeesLastN) {
  SamplingParams p;
  p.presence_penalty = 1.0f;
  p.penalty_last_n = 1;
  std::vector<float> logits = {0.0f, 0.0f};
  apply_penalties(logits, std::vector<int32_t>{0, 1}, p);
  EXPECT_EQ(logits[0], 0.0f);
  EXPECT_EQ(logits[1], -1.0f);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferent) {
  std::vector<float> logits(100);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = float(i % 7) * 0.3f;
  auto run = [&](uint64_t seed) {
    auto p = plain(1.0f, seed);
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) out.push_back(s.sample(logits, out));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Sampler, RejectsBadParameters) {
  auto p = plain(1.0f);
  p.top_p = 0;
  EXPECT_THROW(Sampler{p}, Error);
  p = plain(1.0f);
  p.min_p = 2;
  EXPECT_THROW(Sampler{p}, Error);
}

TEST(Sampler, Logprobs) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.25f), std::log(0.25f)};
  EXPECT_NEAR(token_logprob(logits, 0), std::log(0.5), 1e-6);
  auto top = top_logprobs(logits, 2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].id, 0);
  EXPECT_EQ(top[1].id, 1);
  EXPECT_NEAR(top[1].logprob, std::log(0.25), 1e-6);
}

// The sampler sorts only the prefix of the vocabulary that top-p, min-p and the draw walk; it
// must pick exactly the tokens a full sort picks, for every seed and setting.
namespace {

std::vector<float> random_logits(size_t vocab, int kind, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> l(vocab);
  for (auto& x : l) x = nd(rng);
  switch (kind) {
    case 0:  // flat, like an untrained model
      break;
    case 1:  // peaked: wide spread plus a few dominant tokens
      for (auto& x : l) x *= 4.0f;
      for (int i = 0; i < 5; ++i) l[rng() % vocab] += 12.0f;
      break;
    case 2:  // many exact ties (the order must fall back to the id)
      for (auto& x : l) x = std::round(x * 2.0f) / 2.0f;
      break;
    default:  // NaN and -inf entries mixed in
      for (int i = 0; i < int(vocab / 50); ++i) {
        l[rng() % vocab] = std::nanf("");
        l[rng() % vocab] = -std::numeric_limits<float>::infinity();
      }
  }
  return l;
}

}  // namespace

TEST(Sampler, MatchesFullSortSamplerOnRandomLogits) {
  std::mt19937 rng(2024);
  int cases = 0, old_mismatches = 0;
  for (int kind = 0; kind < 4; ++kind) {
    const auto logits = random_logits(1500, kind, rng);
    for (float temp : {0.4f, 1.0f, 1.8f})
      for (int top_k : {0, 7, 1000})
        for (float top_p : {1.0f, 0.999f, 0.95f, 0.5f})
          for (float min_p : {0.0f, 0.01f, 0.05f, 0.4f}) {
            SamplingParams p;
            p.temperature = temp;
            p.top_k = top_k;
            p.top_p = top_p;
            p.min_p = min_p;
            p.repetition_penalty = kind == 1 ? 1.3f : 1.0f;
            p.presence_penalty = kind == 2 ? 0.5f : 0.0f;
            p.seed = rng();
            Sampler fast(p);
            test::FullSortSampler same(p, /*vocab_order_sums=*/true), old(p, /*vocab_order_sums=*/false);
            std::vector<int32_t> history;
            for (int draw = 0; draw < 4; ++draw) {
              const int32_t got = fast.sample(logits, history), want = same.sample(logits, history);
              ASSERT_EQ(got, want) << "kind " << kind << " temp " << temp << " top_k " << top_k << " top_p "
                                   << top_p << " min_p " << min_p << " draw " << draw;
              old_mismatches += old.sample(logits, history) != got;
              history.push_back(got);
              ++cases;
            }
          }
  }
  // Summing in sorted order instead can only matter within rounding of a threshold.
  EXPECT_EQ(old_mismatches, 0) << "of " << cases;
}

TEST(Sampler, MatchesFullSortSamplerAtQwenVocabulary) {
  std::mt19937 rng(7);
  for (int kind : {0, 1}) {
    const auto logits = random_logits(151936, kind, rng);
    for (auto [top_p, min_p] : {std::pair{1.0f, 0.0f}, {0.95f, 0.0f}, {1.0f, 0.05f}, {0.9f, 0.02f}}) {
      SamplingParams p;
      p.temperature = 0.9f;
      p.top_k = 0;
      p.top_p = top_p;
      p.min_p = min_p;
      p.seed = rng();
      Sampler fast(p);
      test::FullSortSampler ref(p, true);
      for (int draw = 0; draw < 2; ++draw)
        ASSERT_EQ(fast.sample(logits, {}), ref.sample(logits, {})) << kind << " " << top_p << " " << min_p;
    }
  }
}
