// matmul per weight dtype at the Qwen2.5-0.5B shapes: GEMV (decode, n = 1) reported as GB/s of
// weight bytes streamed, GEMM (prefill, n = 512) as GFLOP/s.
//   build-*/matmul_bench --benchmark_counters_tabular=true [--benchmark_filter=Q8_0]
// Threads: SPUTNIK_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/threads.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/tiles.h"

using namespace sputnik;

namespace {

struct FreeBytes {
  void operator()(uint8_t* p) const { std::free(p); }
};

struct Weight {
  std::unique_ptr<uint8_t[], FreeBytes> bytes;
  TensorView view;
};

// Random weights: 64 distinct quantized rows tiled over the matrix (quantizing 136M values
// with the K-quant search would take longer than the benchmark; content does not matter).
const Weight& weight(DType t, int64_t out, int64_t in) {
  static std::map<std::tuple<int, int64_t, int64_t>, Weight> cache;
  auto key = std::make_tuple(int(t), out, in);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Weight w;
  const size_t row_bytes = dtype_bytes(t, in);
  // In 2 MiB pages, as sputnik maps model files (MADV_HUGEPAGE): with 4 KiB pages this VM's
  // nested page walks, not DRAM, limit a GEMV that streams a large matrix.
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t total = (row_bytes * size_t(out) + kHuge - 1) / kHuge * kHuge;
  w.bytes.reset(static_cast<uint8_t*>(std::aligned_alloc(kHuge, total)));
  madvise(w.bytes.get(), total, MADV_HUGEPAGE);
  std::mt19937 rng(1);
  std::normal_distribution<float> dist;
  std::vector<float> row(static_cast<size_t>(in));
  const int64_t distinct = std::min<int64_t>(64, out);
  for (int64_t r = 0; r < distinct; ++r) {
    for (auto& v : row) v = dist(rng) * 0.02f;
    quantize_row(t, row.data(), w.bytes.get() + size_t(r) * row_bytes, in);
  }
  for (int64_t r = distinct; r < out; ++r)
    std::memcpy(w.bytes.get() + size_t(r) * row_bytes, w.bytes.get() + size_t(r % distinct) * row_bytes, row_bytes);
  w.view = TensorView{"bench", t, {out, in}, reinterpret_cast<const std::byte*>(w.bytes.get()), row_bytes * size_t(out)};
  return cache.emplace(key, std::move(w)).first->second;
}

// The same matrix in the Tiles16 layout of the decode kernels (kernels/tiles.h), as a GGUF
// checkpoint is stored after loading with decode tiles (the default of run/serve/bench).
const TensorView& tiled(const TensorView& v) {
  static std::map<const std::byte*, Weight> cache;
  auto it = cache.find(v.data);
  if (it != cache.end()) return it->second.view;
  Weight w;
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t total = (v.nbytes + kHuge - 1) / kHuge * kHuge;
  w.bytes.reset(static_cast<uint8_t*>(std::aligned_alloc(kHuge, total)));
  madvise(w.bytes.get(), total, MADV_HUGEPAGE);
  w.view = tile_into(v, reinterpret_cast<std::byte*>(w.bytes.get()));
  return cache.emplace(v.data, std::move(w)).first->second.view;
}

int bench_threads() {
  const char* e = std::getenv("SPUTNIK_BENCH_THREADS");
  return e ? std::atoi(e) : 2;
}

void BM_Matmul(benchmark::State& state, DType t, int64_t out, int64_t in, int64_t n, bool tiles = false) {
  set_num_threads(bench_threads());
  const TensorView& view = tiles ? tiled(weight(t, out, in).view) : weight(t, out, in).view;
  std::vector<float> x(size_t(n * in)), y(size_t(n * out));
  std::mt19937 rng(2);
  std::normal_distribution<float> dist;
  for (auto& v : x) v = dist(rng);
  for (auto _ : state) {
    matmul(view, x.data(), n, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  const double iters = double(state.iterations());
  state.counters["GB/s"] = benchmark::Counter(double(view.nbytes) * iters / 1e9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(out) * double(in) * double(n) * iters / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.counters["threads"] = num_threads();
}

// Training GEMMs (issue 5's shapes: tokens = batch 8 × seq 256, hidden 256/384, vocab 4096):
// C[m×n] = A[m×k]·B[n×k]ᵀ like a linear layer's forward.
void BM_TrainGemm(benchmark::State& state, bool bf16, int64_t m, int64_t n, int64_t k) {
  set_num_threads(bench_threads());
  std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(n * k)), c(static_cast<size_t>(m * n));
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (auto& v : a) v = dist(rng);
  for (auto& v : b) v = dist(rng);
  for (auto _ : state) {
    (bf16 ? gemm_bf16 : gemm_f32)(false, true, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m) * double(n) * double(k) * double(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

// All weight products of a Qwen2.5-0.5B forward pass (24 layers of q, k, v, o, gate, up, down
// with distinct weights, then the 151936-row head for the last token): tokens/s with matmuls
// only, the ceiling for `sputnik bench` (issue 2, point 6). n = 1 is decode, 512 a prompt.
void BM_Qwen05(benchmark::State& state, DType t, int64_t n, bool tiles = false) {
  set_num_threads(bench_threads());
  const std::pair<int64_t, int64_t> shapes[] = {{896, 896}, {128, 896}, {128, 896}, {896, 896},
                                                {4864, 896}, {4864, 896}, {896, 4864}};
  // One buffer per distinct shape, 24 layers' worth of rows, so decode streams ~all weights.
  std::vector<const TensorView*> views;
  static std::map<std::pair<int, bool>, std::vector<TensorView>> layer_views;
  auto& lv = layer_views[{int(t), tiles}];
  if (lv.empty()) {
    for (auto [out, in] : shapes) {
      const TensorView& big = weight(t, out * 24, in).view;
      for (int l = 0; l < 24; ++l) lv.push_back(tiles ? tiled(big.slice(out * l, out)) : big.slice(out * l, out));
    }
  }
  const TensorView& head = tiles ? tiled(weight(t, 151936, 896).view) : weight(t, 151936, 896).view;
  std::vector<float> x(static_cast<size_t>(n * 4864)), y(static_cast<size_t>(n * 4864));
  std::mt19937 rng(2);
  std::normal_distribution<float> dist;
  for (auto& v : x) v = dist(rng);
  std::vector<float> logits(151936);
  for (auto _ : state) {
    for (int l = 0; l < 24; ++l)
      for (size_t s = 0; s < 7; ++s) matmul(lv[s * 24 + size_t(l)], x.data(), n, y.data());
    matmul(head, x.data(), 1, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.counters["tok/s"] = benchmark::Counter(double(n) * double(state.iterations()), benchmark::Counter::kIsRate);
}

void register_all() {
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int64_t n : {1, 512})
      for (bool tiles : {false, true}) {
        const std::string name = std::string("Qwen05/") + std::string(dtype_name(t)) +
                                 (n == 1 ? "/decode" : "/prefill512") + (tiles ? "/tiles" : "");
        benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { BM_Qwen05(s, t, n, tiles); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
  for (bool bf16 : {false, true})
    for (auto [n, k] : {std::pair<int64_t, int64_t>{256, 256}, {1024, 384}, {4096, 256}}) {
      const std::string name = std::string("TrainGEMM/") + (bf16 ? "bf16/" : "f32/") + "2048x" + std::to_string(n) +
                               "x" + std::to_string(k);
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { BM_TrainGemm(s, bf16, 2048, n, k); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  const DType types[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};
  const std::pair<int64_t, int64_t> shapes[] = {{4864, 896}, {896, 4864}, {151936, 896}};
  for (int64_t n : {1, 512}) {
    for (DType t : types) {
      for (auto [out, in] : shapes) {
        if (in % dtype_info(t).block_elems != 0) continue;  // K-quants need rows of 256
        const std::string name = std::string(n == 1 ? "GEMV/" : "GEMM/") + std::string(dtype_name(t)) + "/" +
                                 std::to_string(in) + "x" + std::to_string(out) + "/n" + std::to_string(n);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) { BM_Matmul(s, t, out, in, n); });
        b->UseRealTime()->Unit(benchmark::kMillisecond);
        if (n > 1) b->MinTime(1.0);
        if (t != DType::Q8_0 && t != DType::Q4_0) continue;
        b = benchmark::RegisterBenchmark((name + "/tiles").c_str(),
                                         [=](benchmark::State& s) { BM_Matmul(s, t, out, in, n, true); });
        b->UseRealTime()->Unit(benchmark::kMillisecond);
        if (n > 1) b->MinTime(1.0);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
