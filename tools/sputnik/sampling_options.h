#pragma once
// Sampling flags shared by `run`, `chat` and friends (llama.cpp spellings).
#include "command.h"
#include "runtime/sampler.h"

namespace sputnik::cli {

inline void add_sampling_options(CLI::App& app, SamplingParams& p) {
  app.add_option("--temp,--temperature", p.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", p.top_k, "keep the k most likely tokens (0: off)");
  app.add_option("--top-p", p.top_p, "nucleus sampling mass (1: off)");
  app.add_option("--min-p", p.min_p, "drop tokens below min_p x the best probability (0: off)");
  app.add_option("--repeat-penalty", p.repetition_penalty, "repetition penalty (1: off)");
  app.add_option("--presence-penalty", p.presence_penalty, "presence penalty (0: off)");
  app.add_option("--frequency-penalty", p.frequency_penalty, "frequency penalty (0: off)");
  app.add_option("--repeat-last-n", p.penalty_last_n, "tokens the penalties look back (-1: all)");
  app.add_option("-s,--seed", p.seed, "random seed (same seed, same output)");
}

}  // namespace sputnik::cli
