#pragma once
// The single-sequence generation loop shared by `sputnik run`, `chat` and `bench`: batched
// prefill of the prompt (chunks of up to `prefill_batch` tokens, one GEMM each), then one
// token per step through the KV cache. The server's continuous batching drives Model::forward
// directly with many slots.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "runtime/sampler.h"

namespace sputnik {

struct GenerateOptions {
  int max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> stop_ids;  // generation ends after emitting one of these (not included)
  int prefill_batch = 512;
  int32_t slot = 0;
  bool penalize_prompt = false;  // whether penalties also see the prompt tokens
};

struct GenerateResult {
  std::vector<int32_t> tokens;     // generated ids, stop token excluded
  std::string finish_reason;       // "stop" (stop token or callback) or "length"
  int64_t prompt_tokens = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Appends `prompt` to the cache slot (which may already hold a prefix of the conversation)
// and generates. `on_token(id)` runs for each new token; returning false stops generation.
GenerateResult generate(Model& model, KVCache& cache, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<bool(int32_t)>& on_token = {});

// Feeds tokens into the cache slot in chunks and returns the logits of the last one.
std::vector<float> prefill(Model& model, KVCache& cache, int32_t slot,
                           std::span<const int32_t> tokens, int batch_size);

}  // namespace sputnik
