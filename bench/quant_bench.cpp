// Throughput of the block quantizers and dequantizers (GGUF writing, embedding lookups, exact
// mode) in input floats per second.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/quant.h"

using namespace sputnik;

namespace {

void run(benchmark::State& state, DType t, bool quantize) {
  const int64_t n = 1 << 16;
  std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> q(dtype_bytes(t, n));
  quantize_row(t, x.data(), q.data(), n);
  for (auto _ : state) {
    if (quantize) quantize_row(t, x.data(), q.data(), n);
    else dequantize_row(t, q.data(), y.data(), n);
    benchmark::DoNotOptimize(q.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * n);
}

#define QUANT_BENCH(T)                                                                          \
  void BM_Quantize_##T(benchmark::State& s) { run(s, DType::T, true); }                         \
  void BM_Dequantize_##T(benchmark::State& s) { run(s, DType::T, false); }                      \
  BENCHMARK(BM_Quantize_##T);                                                                   \
  BENCHMARK(BM_Dequantize_##T);

QUANT_BENCH(F16)
QUANT_BENCH(BF16)
QUANT_BENCH(Q8_0)
QUANT_BENCH(Q4_0)
QUANT_BENCH(Q4_K)
QUANT_BENCH(Q6_K)

}  // namespace

BENCHMARK_MAIN();
