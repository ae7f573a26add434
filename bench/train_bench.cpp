// Training throughput (issue 5, point 7): one step = forward + backward + AdamW over a
// [batch 8, seq 256] batch, for
//   (a) a DeepSeek-V3-style MoE: hidden 256, 4 layers (1 dense + 3 MoE), 8 routed experts top-2,
//       1 shared, MLA ranks 64, vocab 4096
//   (b) a dense Qwen2-style model: hidden 384, 6 layers, vocab 4096
// Reports tokens/s. Random weights and tokens: speed does not depend on the values. The /bf16
// variants train with TrainOptions::bf16. BM_Peak* measure the GEMM peaks that MFU is reported
// against: OpenBLAS sgemm (gemm_f32) and our AVX-512 BF16 GEMM (gemm_bf16), 2048³ products.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <random>

#include "core/threads.h"
#include "kernels/matmul.h"
#include "models/config.h"
#include "train/adamw.h"
#include "train/model.h"

namespace {

using nlohmann::json;
using namespace sputnik;
using namespace sputnik::train;

json deepseek_moe() {
  return {{"model_type", "deepseek_v3"}, {"vocab_size", 4096}, {"hidden_size", 256}, {"intermediate_size", 1024},
          {"moe_intermediate_size", 256}, {"num_hidden_layers", 4}, {"first_k_dense_replace", 1},
          {"num_attention_heads", 4}, {"q_lora_rank", 64}, {"kv_lora_rank", 64}, {"qk_nope_head_dim", 64},
          {"qk_rope_head_dim", 32}, {"v_head_dim", 64}, {"n_routed_experts", 8}, {"num_experts_per_tok", 2},
          {"n_group", 1}, {"topk_group", 1}, {"n_shared_experts", 1}, {"norm_topk_prob", true},
          {"routed_scaling_factor", 1.0}, {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}};
}

json qwen2_dense() {
  return {{"model_type", "qwen2"}, {"vocab_size", 4096}, {"hidden_size", 384}, {"intermediate_size", 1024},
          {"num_hidden_layers", 6}, {"num_attention_heads", 6}, {"num_key_value_heads", 2},
          {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", true}};
}

// User + system CPU seconds of the whole process (all threads): a load-robust cost measure on a
// shared machine, where wall time depends on what else runs.
double process_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void train_step(benchmark::State& state, const json& cfg) {
  set_num_threads(int(state.range(0)));
  const int64_t B = 8, S = 256;
  TrainModel m(parse_model_config(cfg, "bench"), {.bf16 = state.range(1) != 0});
  m.init_random(1);
  AdamW opt(m.params(), m.data().size(), {});
  std::mt19937 rng(2);
  std::uniform_int_distribution<int32_t> tok(0, int32_t(m.config().vocab_size - 1));
  std::vector<int32_t> x(size_t(B * S)), y(size_t(B * S));
  for (auto& t : x) t = tok(rng);
  for (auto& t : y) t = tok(rng);
  float loss = 0;
  const double cpu0 = process_cpu_s();
  for (auto _ : state) {
    m.zero_grad();
    loss = m.forward_backward(x.data(), y.data(), B, S);
    clip_grad_norm(m.params(), m.grads().data(), 1.0f);
    opt.step(m.data().data(), m.grads().data(), 1e-4f);
  }
  benchmark::DoNotOptimize(loss);
  state.counters["cpu_s_per_step"] = (process_cpu_s() - cpu0) / double(state.iterations());
  state.counters["tokens_per_s"] = benchmark::Counter(double(B * S), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["params_M"] = double(m.data().size()) / 1e6;
}

void BM_TrainDeepSeekMoE(benchmark::State& s) { train_step(s, deepseek_moe()); }
void BM_TrainQwen2Dense(benchmark::State& s) { train_step(s, qwen2_dense()); }

// Args: threads, bf16.
BENCHMARK(BM_TrainDeepSeekMoE)->ArgNames({"threads", "bf16"})->ArgsProduct({{1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_TrainQwen2Dense)->ArgNames({"threads", "bf16"})->ArgsProduct({{1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);

void gemm_peak(benchmark::State& state, bool bf16) {
  set_num_threads(int(state.range(0)));
  const int64_t n = 2048;
  std::vector<float> a(size_t(n * n), 0.5f), b(size_t(n * n), 0.25f), c(size_t(n * n));
  for (auto _ : state) {
    if (bf16) gemm_bf16(false, true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    else gemm_f32(false, true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPs"] = benchmark::Counter(2.0 * double(n * n * n) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
void BM_PeakSgemm(benchmark::State& s) { gemm_peak(s, false); }
void BM_PeakBf16Gemm(benchmark::State& s) { gemm_peak(s, true); }
BENCHMARK(BM_PeakSgemm)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_PeakBf16Gemm)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
