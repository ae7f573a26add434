#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"

namespace sputnik {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::vector<float> prefill(Model& model, KVCache& cache, int32_t slot,
                           std::span<const int32_t> tokens, int batch_size) {
  if (tokens.empty()) fail("cannot run an empty prompt");
  if (batch_size < 1) fail("prefill batch size must be >= 1");
  std::vector<float> logits(size_t(model.config().vocab_size));
  Batch batch;
  for (size_t start = 0; start < tokens.size(); start += size_t(batch_size)) {
    const size_t end = std::min(tokens.size(), start + size_t(batch_size));
    batch.clear();
    const int64_t base = cache.length(slot);
    for (size_t i = start; i < end; ++i)
      batch.add(tokens[i], slot, base + int64_t(i - start), i + 1 == tokens.size());
    model.forward(batch, cache, end == tokens.size() ? logits.data() : nullptr);
  }
  return logits;
}

GenerateResult generate(Model& model, KVCache& cache, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<bool(int32_t)>& on_token) {
  GenerateResult result;
  result.prompt_tokens = int64_t(prompt.size());
  const int64_t limit = cache.max_tokens();
  if (limit > 0 && cache.length(options.slot) + int64_t(prompt.size()) > limit)
    fail("prompt of {} tokens does not fit the context of {} tokens", prompt.size(), limit);

  Sampler sampler(options.sampling);
  std::vector<int32_t> history;
  if (options.penalize_prompt) history.assign(prompt.begin(), prompt.end());

  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = prefill(model, cache, options.slot, prompt, options.prefill_batch);
  result.prefill_seconds = seconds_since(t0);

  t0 = std::chrono::steady_clock::now();
  result.finish_reason = "length";
  Batch batch;
  for (int step = 0; step < options.max_tokens; ++step) {
    const int32_t id = sampler.sample(logits, history);
    if (std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    result.tokens.push_back(id);
    history.push_back(id);
    if (on_token && !on_token(id)) {
      result.finish_reason = "stop";
      break;
    }
    if (step + 1 == options.max_tokens) break;  // no need to run the last token
    if (limit > 0 && cache.length(options.slot) >= limit) break;
    batch.clear();
    batch.add(id, options.slot, cache.length(options.slot), true);
    model.forward(batch, cache, logits.data());
  }
  result.decode_seconds = seconds_since(t0);
  return result;
}

}  // namespace sputnik
