// Decode attention (one query per head against its cached keys, attend_causal with m = 1) at
// the head sizes of the benchmark models: Qwen2.5-0.5B (GQA, head 64, a cache row holds k and v
// of 2 KV heads) and DeepSeek-V2-Lite with weight absorption (keys are 576-float [latent | rope]
// rows whose first 512 floats are the values). Per head, context lengths of a chat; and a whole
// group of heads that share the cache, head by head against attend_group_decode.
//   build/attention_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/attention.h"

namespace {

using namespace sputnik;

void BM_DecodeAttention(benchmark::State& state, int64_t dk, int64_t dv, int64_t ld) {
  const int64_t keys = state.range(0);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(dk)), cache(static_cast<size_t>(keys * ld)), out(static_cast<size_t>(dv));
  for (auto& x : q) x = nd(rng);
  for (auto& x : cache) x = nd(rng);
  const float scale = 1.0f / std::sqrt(float(dk));
  // Qwen2: values follow the keys in a row (offset dk); MLA: the values are the keys' first dv.
  const float* v = dk == dv ? cache.data() + dk : cache.data();
  for (auto _ : state) {
    attend_causal(q.data(), dk, 1, keys - 1, dk, cache.data(), ld, v, ld, dv, scale, out.data(), dv);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(keys) * double(dk + dv) * double(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
}

// All the query heads of one KV group: one head at a time (`heads`, attend_causal per head) or
// together (`group`, attend_group_decode: the cache rows read once for the group).
void BM_DecodeGroup(benchmark::State& state, int64_t dk, int64_t dv, int64_t ld, int64_t heads, bool together) {
  const int64_t keys = state.range(0);
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  std::vector<float> q(static_cast<size_t>(heads * dk)), cache(static_cast<size_t>(keys * ld)),
      out(static_cast<size_t>(heads * dv));
  for (auto& x : q) x = nd(rng);
  for (auto& x : cache) x = nd(rng);
  const float scale = 1.0f / std::sqrt(float(dk));
  const float* v = dk == dv ? cache.data() + dk : cache.data();
  for (auto _ : state) {
    if (together) {
      attend_group_decode(q.data(), dk, heads, keys - 1, dk, cache.data(), ld, v, ld, dv, scale, out.data(), dv);
    } else {
      for (int64_t h = 0; h < heads; ++h)
        attend_causal(q.data() + h * dk, dk, 1, keys - 1, dk, cache.data(), ld, v, ld, dv, scale, out.data() + h * dv,
                      dv);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(heads) * double(keys) * double(dk + dv) *
                                                     double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_DecodeAttention, qwen05_head64, 64, 64, 256)->Arg(64)->Arg(512)->Arg(4096);
BENCHMARK_CAPTURE(BM_DecodeGroup, qwen05_7heads_each, 64, 64, 256, 7, false)->Arg(512)->Arg(4096)->Arg(16384);
BENCHMARK_CAPTURE(BM_DecodeGroup, qwen05_7heads_group, 64, 64, 256, 7, true)->Arg(512)->Arg(4096)->Arg(16384);
BENCHMARK_CAPTURE(BM_DecodeGroup, mla_16heads_each, 576, 512, 576, 16, false)->Arg(512)->Arg(4096);
BENCHMARK_CAPTURE(BM_DecodeGroup, mla_16heads_group, 576, 512, 576, 16, true)->Arg(512)->Arg(4096);
BENCHMARK_CAPTURE(BM_DecodeAttention, mla_576_512, 576, 512, 576)->Arg(64)->Arg(512)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
