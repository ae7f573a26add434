// Sampling one token from a Qwen-sized vocabulary (151936 logits), top-k off, against the
// straightforward full-sort sampler (tests/runtime/sampler_reference.h) on the same logits.
// "peaked" logits look like a trained model's (a few tokens hold most of the mass); "flat" ones
// like a random model's (top-p 0.95 then needs most of the vocabulary).
//   build/sampler_bench --benchmark_filter=Sample
#include <benchmark/benchmark.h>

#include <random>

#include "../tests/runtime/sampler_reference.h"
#include "runtime/sampler.h"

namespace {

constexpr size_t kVocab = 151936;

const std::vector<float>& logits(bool peaked) {
  static const auto make = [](bool p) {
    std::mt19937 rng(p ? 1 : 2);
    std::normal_distribution<float> nd(0.0f, p ? 2.5f : 1.0f);
    std::vector<float> l(kVocab);
    for (auto& x : l) x = nd(rng);
    if (p)
      for (int i = 0; i < 8; ++i) l[rng() % kVocab] += 20.0f - float(i);
    return l;
  };
  static const std::vector<float> peaked_logits = make(true), flat_logits = make(false);
  return peaked ? peaked_logits : flat_logits;
}

// Args: top_p x 1000, min_p x 1000, peaked.
sputnik::SamplingParams params(const benchmark::State& state) {
  sputnik::SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 0;
  p.top_p = float(state.range(0)) / 1000.0f;
  p.min_p = float(state.range(1)) / 1000.0f;
  p.seed = 42;
  return p;
}

void BM_Sample(benchmark::State& state) {
  sputnik::Sampler s(params(state));
  const auto& l = logits(state.range(2) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(l, {}));
}

void BM_SampleFullSort(benchmark::State& state) {
  sputnik::test::FullSortSampler s(params(state), /*vocab_order_sums=*/true);
  const auto& l = logits(state.range(2) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(s.sample(l, {}));
}

void settings(benchmark::internal::Benchmark* b) {
  b->ArgNames({"top_p", "min_p", "peaked"});
  for (int peaked : {1, 0}) {
    b->Args({1000, 0, peaked});    // OpenAI defaults: no truncation
    b->Args({950, 0, peaked});     // top-p only
    b->Args({1000, 50, peaked});   // min-p only
    b->Args({950, 50, peaked});    // the CLI's defaults without top-k
  }
  b->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_Sample)->Apply(settings);
BENCHMARK(BM_SampleFullSort)->Apply(settings);
BENCHMARK_MAIN();
