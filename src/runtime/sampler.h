#pragma once
// Turns a row of logits into the next token. The chain is llama.cpp's default order:
// penalties -> top-k -> top-p -> min-p -> temperature -> draw. temperature <= 0 is greedy
// (penalties still apply). The same seed and inputs give the same tokens.
#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace sputnik {

struct SamplingParams {
  float temperature = 0.8f;
  int top_k = 40;             // <= 0: off
  float top_p = 0.95f;        // >= 1: off
  float min_p = 0.05f;        // <= 0: off
  float repetition_penalty = 1.0f;  // llama.cpp/HF style: divide positive logits, multiply negative
  float presence_penalty = 0.0f;    // OpenAI style: subtract once if the token appeared
  float frequency_penalty = 0.0f;   // OpenAI style: subtract per occurrence
  int penalty_last_n = 64;          // how many recent tokens the penalties look at; -1: all
  uint64_t seed = 0;

  static SamplingParams greedy() {
    SamplingParams p;
    p.temperature = 0;
    return p;
  }
};

struct TokenLogprob {
  int32_t id;
  float logprob;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // `history`: tokens generated so far (and the prompt if penalties should see it).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;  // (logit, id), reused between calls
};

// Applies repetition/presence/frequency penalties in place (exposed for tests and the server).
void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                     const SamplingParams& params);

// log-softmax of the raw logits for `id`, and the k most likely tokens (OpenAI `logprobs`).
float token_logprob(std::span<const float> logits, int32_t id);
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k);

}  // namespace sputnik
