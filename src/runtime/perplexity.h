#pragma once
// Perplexity scored exactly as llama.cpp's `llama-perplexity` does, so numbers are comparable:
// the token stream is cut into chunks of n_ctx tokens (at most `max_chunks`, all when < 0);
// each chunk is evaluated from an empty cache with its first token replaced by BOS when the
// vocabulary adds BOS; only the second half of each chunk is scored: logits at positions
// n_ctx/2 .. n_ctx-2 predict tokens n_ctx/2+1 .. n_ctx-1.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace sputnik {

struct PerplexityOptions {
  int n_ctx = 512;
  int max_chunks = -1;
  bool add_bos = false;
  int32_t bos_id = -1;
};

struct PerplexityResult {
  std::vector<double> chunk_ppl;  // running estimate after each chunk, as llama.cpp prints
  double ppl = 0;
  double ppl_stderr = 0;
  int64_t scored_tokens = 0;
};

// `eval_chunk(tokens, logits)` evaluates one chunk from an empty cache and writes
// tokens.size() x vocab logits; `on_chunk(i, running_ppl)` reports progress.
using ChunkEvaluator = std::function<void(std::span<const int32_t>, std::vector<float>&)>;
PerplexityResult compute_perplexity(std::span<const int32_t> tokens, int vocab_size,
                                    const PerplexityOptions& options,
                                    const ChunkEvaluator& eval_chunk,
                                    const std::function<void(int, double)>& on_chunk = {});

}  // namespace sputnik
