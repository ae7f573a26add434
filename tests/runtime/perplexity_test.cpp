#include "runtime/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

using namespace sputnik;

// A "model" whose next-token distribution is known in closed form: it always puts
// probability q on (previous token + 1) mod V and spreads the rest evenly.
TEST(Perplexity, ScoresSecondHalfOfEachChunkLikeLlamaCpp) {
  const int V = 8, n_ctx = 16;
  const double q = 0.75;
  std::vector<int32_t> tokens(3 * n_ctx + 5);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * i) % V);
  std::vector<std::vector<int32_t>> seen;
  auto eval = [&](std::span<const int32_t> chunk, std::vector<float>& logits) {
    seen.emplace_back(chunk.begin(), chunk.end());
    logits.assign(chunk.size() * V, float(std::log((1 - q) / (V - 1))));
    for (size_t p = 0; p < chunk.size(); ++p) logits[p * V + size_t((chunk[p] + 1) % V)] = float(std::log(q));
  };
  PerplexityOptions o;
  o.n_ctx = n_ctx;
  o.max_chunks = 2;
  o.add_bos = true;
  o.bos_id = 7;
  auto r = compute_perplexity(tokens, V, o, eval);

  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0][0], 7);  // BOS replaces the first token of every chunk
  EXPECT_EQ(seen[1][0], 7);
  EXPECT_EQ(seen[1][1], tokens[n_ctx + 1]);
  EXPECT_EQ(r.scored_tokens, 2 * (n_ctx - 1 - n_ctx / 2));
  double nll = 0;
  for (int c = 0; c < 2; ++c)
    for (int p = n_ctx / 2; p + 1 < n_ctx; ++p) {
      const int32_t prev = seen[size_t(c)][size_t(p)], next = tokens[size_t(c * n_ctx + p + 1)];
      nll -= std::log(next == (prev + 1) % V ? q : (1 - q) / (V - 1));
    }
  EXPECT_NEAR(r.ppl, std::exp(nll / double(r.scored_tokens)), 1e-6 * r.ppl);
}

TEST(Perplexity, NeedsTwoContextsOfText) {
  std::vector<int32_t> tokens(31, 1);
  PerplexityOptions o;
  o.n_ctx = 16;
  EXPECT_THROW(compute_perplexity(tokens, 4, o, [](auto, auto&) {}), Error);
}
