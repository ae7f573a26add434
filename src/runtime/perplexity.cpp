#include "runtime/perplexity.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace sputnik {

PerplexityResult compute_perplexity(std::span<const int32_t> tokens, int vocab_size,
                                    const PerplexityOptions& o, const ChunkEvaluator& eval_chunk,
                                    const std::function<void(int, double)>& on_chunk) {
  if (o.n_ctx < 4) fail("perplexity: context size {} is too small", o.n_ctx);
  const size_t n_ctx = size_t(o.n_ctx);
  if (tokens.size() < 2 * n_ctx)
    fail("perplexity: need at least 2*n_ctx = {} tokens, the text has {}", 2 * n_ctx, tokens.size());
  if (o.add_bos && o.bos_id < 0) fail("perplexity: the vocabulary adds BOS but has no BOS id");
  const int max_chunks = int(tokens.size() / n_ctx);
  const int n_chunks = o.max_chunks < 0 ? max_chunks : std::min(o.max_chunks, max_chunks);
  const size_t first = n_ctx / 2;

  PerplexityResult r;
  double nll = 0, nll2 = 0;
  std::vector<int32_t> chunk(n_ctx);
  std::vector<float> logits;
  for (int c = 0; c < n_chunks; ++c) {
    const size_t start = size_t(c) * n_ctx;
    std::copy_n(tokens.begin() + ptrdiff_t(start), n_ctx, chunk.begin());
    if (o.add_bos) chunk[0] = o.bos_id;
    eval_chunk(chunk, logits);
    if (logits.size() != n_ctx * size_t(vocab_size)) fail("perplexity: evaluator returned wrong size");
    for (size_t pos = first; pos + 1 < n_ctx; ++pos) {
      const float* row = logits.data() + pos * size_t(vocab_size);
      const int32_t target = tokens[start + pos + 1];  // the original token, never the BOS
      if (target < 0 || target >= vocab_size) fail("perplexity: token {} outside the vocabulary", target);
      const float m = *std::max_element(row, row + vocab_size);
      double sum = 0;
      for (int v = 0; v < vocab_size; ++v) sum += std::exp(double(row[v] - m));
      const double token_nll = std::log(sum) - double(row[target] - m);
      nll += token_nll;
      nll2 += token_nll * token_nll;
      ++r.scored_tokens;
    }
    const double running = std::exp(nll / double(r.scored_tokens));
    r.chunk_ppl.push_back(running);
    if (on_chunk) on_chunk(c, running);
  }
  const double mean = nll / double(r.scored_tokens);
  r.ppl = std::exp(mean);
  // Same error estimate llama.cpp prints: delta method on the mean NLL.
  const double var = nll2 / double(r.scored_tokens) - mean * mean;
  r.ppl_stderr = r.scored_tokens > 1 ? std::sqrt(std::max(var, 0.0) / double(r.scored_tokens - 1)) * r.ppl : 0;
  return r;
}

}  // namespace sputnik
