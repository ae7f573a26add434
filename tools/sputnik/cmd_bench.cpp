// `sputnik bench`: prefill and decode speed of a model, llama-bench style (pp512 / tg128).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "command.h"
#include "core/read_bandwidth.h"
#include "core/threads.h"
#include "model_loading.h"
#include "models/decode_bytes.h"
#include "models/model.h"
#include "runtime/generate.h"

namespace {

// The process's peak resident set (VmHWM), in bytes; 0 where /proc is unavailable. Touched
// pages of the mmap'd weight file count, as do any copies of weights.
int64_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  return 0;
}

struct Options {
  std::string model;
  int threads = 0;
  int prompt = 512;
  int gen = 128;
  int depth = 0;
  int reps = 1;
  int ubatch = 512;
  bool json = false;
  int probe_pairs = 0;
};

// Decode GB/s against the machine's read bandwidth measured next to it. This VM's bandwidth
// swings between phases (~32 and ~55 GB/s here) within seconds, so a probe read minutes apart
// from the decode run says little: alternate short probes and short decode runs and compare
// each run with the faster of the two probes around it (the stricter choice).
// Also the read bandwidth of the model's own decode layout right after each run (0 where the
// weights stay memory-mapped as stored): where the VM backs the buffer and the weights with
// memory of different speeds, the two reads say so.
struct ProbeRun {
  double decode_gbps, read_before_gbps, read_after_gbps, weights_read_gbps;
  double ratio() const { return decode_gbps / std::max(read_before_gbps, read_after_gbps); }
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct PhaseMedian {
  int runs = 0;
  double median_ratio = 0;
};

struct ProbeResult {
  double median_ratio = 0;  // median over runs of decode GB/s ÷ max(probe before, probe after)
  double fast_weights_ratio = 0;  // fast phase: median of decode GB/s ÷ the weights' read after it
  double best_decode_gbps = 0, best_probe_gbps = 0;
  PhaseMedian fast, slow;
  std::vector<ProbeRun> runs;
};

// The median ratio of the runs whose reads before and after both pass in_phase.
PhaseMedian phase_median(const std::vector<ProbeRun>& runs, const std::function<bool(double)>& in_phase) {
  std::vector<double> ratios;
  for (const ProbeRun& r : runs)
    if (in_phase(r.read_before_gbps) && in_phase(r.read_after_gbps)) ratios.push_back(r.ratio());
  return {int(ratios.size()), median(ratios)};
}

// `pairs` decode runs (decode_gbps runs one, returns its GB/s), each between two reads;
// read_weights (if given) reads the weights after each run and returns its GB/s.
ProbeResult probe_decode(int pairs, const std::function<double()>& decode_gbps,
                         const std::function<double()>& read_weights) {
  using namespace sputnik;
  ProbeResult probe;
  ReadBandwidthProbe reader;
  (void)reader.measure_gbps();  // first pass: warm the page tables
  double read = reader.measure_gbps(2);
  probe.best_probe_gbps = read;
  for (int i = 0; i < pairs; ++i) {
    const double gbps_run = decode_gbps();
    const double weights = read_weights ? read_weights() : 0;
    const double next = reader.measure_gbps(2);
    probe.runs.push_back({gbps_run, read, next, weights});
    probe.best_decode_gbps = std::max(probe.best_decode_gbps, gbps_run);
    probe.best_probe_gbps = std::max(probe.best_probe_gbps, next);
    read = next;
  }
  probe.median_ratio = phase_median(probe.runs, [](double) { return true; }).median_ratio;
  // A phase, judged by the reads around a run against the best read of the probe: both ≥ 85% of
  // it ("fast"), or both ≤ 75% ("slow"); runs at a phase change count in neither.
  const double best = probe.best_probe_gbps;
  probe.fast = phase_median(probe.runs, [best](double g) { return g >= 0.85 * best; });
  probe.slow = phase_median(probe.runs, [best](double g) { return g <= 0.75 * best; });
  std::vector<double> by_weights;
  for (const ProbeRun& r : probe.runs)
    if (r.weights_read_gbps > 0 && r.read_before_gbps >= 0.85 * best && r.read_after_gbps >= 0.85 * best)
      by_weights.push_back(r.decode_gbps / r.weights_read_gbps);
  probe.fast_weights_ratio = median(by_weights);
  return probe;
}

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "HF folder or GGUF file")->required();
  sputnik::cli::add_threads_option(app, o->threads);
  app.add_option("-p,--prompt-tokens", o->prompt, "prompt length for the prefill test")->check(CLI::Range(1, 1 << 20));
  app.add_option("-n,--gen-tokens", o->gen, "tokens for the decode test")->check(CLI::Range(1, 1 << 20));
  app.add_option("-d,--depth", o->depth,
                 "context tokens before the decode test (llama-bench's -d; 0: decode from one token)")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("-r,--repetitions", o->reps, "repeat each test, report the best")->check(CLI::Range(1, 100));
  app.add_option("-b,--ubatch", o->ubatch, "prompt tokens per forward in the prefill test (llama-bench's -ub)")
      ->check(CLI::Range(1, 1 << 20));
  app.add_flag("--json", o->json, "print one JSON object");
  app.add_option("--probe", o->probe_pairs,
                 "then alternate N decode runs (-n tokens each) with reads of a 512 MiB buffer and report "
                 "decode GB/s against the read bandwidth measured around each run")
      ->check(CLI::Range(0, 1000));
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    std::shared_ptr<const WeightStore> weights = load_weights(o->model, cli::load_options_with_progress(o->model, false));
    auto model_ptr = load_model(weights);
    Model& model = *model_ptr;
    const auto stats = model.stats();
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> any_token(0, int32_t(model.config().vocab_size - 1));
    std::vector<int32_t> prompt(size_t(o->prompt));
    for (auto& t : prompt) t = any_token(rng);

    // Decode test as llama-bench's tg: one token at a time after a 1-token context, or after
    // `depth` tokens (prefilled untimed) where attention over the cache weighs in. Seconds.
    auto decode_run = [&]() {
      KVCache cache = model.make_cache(1, o->depth + o->gen + 2);
      std::vector<float> logits(size_t(model.config().vocab_size));
      Batch batch;
      if (o->depth > 0) {
        std::vector<int32_t> context(size_t(o->depth));
        for (auto& t : context) t = any_token(rng);
        prefill(model, cache, 0, context, o->ubatch);
      } else {
        batch.add(prompt[0], 0, 0, true);
        model.forward(batch, cache, logits.data());
      }
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < o->gen; ++i) {
        batch.clear();
        batch.add(any_token(rng), 0, cache.length(0), true);
        model.forward(batch, cache, logits.data());
      }
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };

    double best_prefill = 1e30, best_decode = 1e30;
    for (int r = 0; r < o->reps; ++r) {
      KVCache cache = model.make_cache(1, o->prompt + o->gen + 1);
      auto t0 = std::chrono::steady_clock::now();
      prefill(model, cache, 0, prompt, o->ubatch);
      best_prefill = std::min(best_prefill, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      best_decode = std::min(best_decode, decode_run());
    }
    const double prefill_tps = o->prompt / best_prefill;
    const double decode_tps = o->gen / best_decode;
    // Bytes a decode step must stream (models/decode_bytes.h): one embedding row unless it is
    // the head, routed experts top-k only, MLA's W_UK^T as the engine keeps it.
    const double active_bytes = decode_weight_bytes(model);
    // Peak memory against what must be resident: all weights plus both benchmark caches (their
    // rows as allocated, padding included: models/kv_cache.h).
    const int64_t kv_bytes = model.make_cache(1, 1).bytes_per_token() * (int64_t(o->prompt) + o->depth + o->gen + 1);
    const int64_t peak_rss = peak_rss_bytes();
    const double gbps = active_bytes * decode_tps / 1e9;
    // Share of the resident weights backed by 2 MiB pages (see MappedFile::open, decode tiles).
    std::optional<double> huge_fraction;
    size_t mapped_rss = 0;
    if (const auto r = model.weights().residency(); r && r->rss_bytes > 0) {
      mapped_rss = r->rss_bytes;
      huge_fraction = double(r->pmd_mapped_bytes) / double(r->rss_bytes);
    }
    const std::string huge_json = huge_fraction ? fmt::format(",\"huge_page_fraction\":{:.4f}", *huge_fraction) : "";

    // After peak_rss was read: the probe's buffer is not the model's memory.
    uint64_t sink = 0;
    const auto read_weights = [&] {
      int64_t bytes = 0;
      double seconds = 0;
      for (const WeightStore::Region& r : model.weights().page_regions()) {
        const int64_t words = int64_t(r.bytes / 8) / 32 * 32;
        const double gbps = read_gbps(reinterpret_cast<const uint64_t*>(r.data), words, 1, &sink);
        bytes += words * 8;
        seconds += double(words * 8) / 1e9 / gbps;
      }
      return bytes > 0 ? double(bytes) / 1e9 / seconds : 0.0;
    };
    const ProbeResult probe =
        o->probe_pairs > 0 ? probe_decode(o->probe_pairs, [&] { return active_bytes * o->gen / decode_run() / 1e9; },
                                          read_weights)
                           : ProbeResult{};
    std::string probe_json;
    if (!probe.runs.empty()) {
      std::string runs;
      for (const ProbeRun& r : probe.runs)
        runs += fmt::format("{}[{:.3f},{:.3f},{:.3f},{:.3f}]", runs.empty() ? "" : ",", r.decode_gbps,
                            r.read_before_gbps, r.read_after_gbps, r.weights_read_gbps);
      probe_json = fmt::format(
          ",\"probe_pairs\":{},\"decode_probe_ratio_median\":{:.4f},\"probe_best_gbps\":{:.3f},"
          "\"decode_best_gbps\":{:.3f},\"probe_fast_runs\":{},\"decode_probe_ratio_median_fast\":{:.4f},"
          "\"probe_slow_runs\":{},\"decode_probe_ratio_median_slow\":{:.4f},"
          "\"decode_weights_read_ratio_median_fast\":{:.4f},\"probe_runs\":[{}]",
          probe.runs.size(), probe.median_ratio, probe.best_probe_gbps, probe.best_decode_gbps, probe.fast.runs,
          probe.fast.median_ratio, probe.slow.runs, probe.slow.median_ratio, probe.fast_weights_ratio, runs);
    }
    if (o->json) {
      std::printf("{\"model\":\"%s\",\"threads\":%d,\"prompt_tokens\":%d,\"gen_tokens\":%d,\"depth\":%d,"
                  "\"prefill_tps\":%.3f,\"decode_tps\":%.3f,\"decode_gbps\":%.3f,\"active_weight_bytes\":%.0f,"
                  "\"weights_bytes\":%lld,\"kv_bytes\":%lld,\"peak_rss_bytes\":%lld%s%s}\n",
                  o->model.c_str(), num_threads(), o->prompt, o->gen, o->depth, prefill_tps, decode_tps, gbps, active_bytes,
                  (long long)stats.weight_bytes, (long long)kv_bytes, (long long)peak_rss, huge_json.c_str(),
                  probe_json.c_str());
    } else {
      std::printf("model: %s  threads: %d\n", o->model.c_str(), num_threads());
      std::printf("prefill pp%d: %.2f tokens/s\n", o->prompt, prefill_tps);
      std::printf("decode  tg%d%s: %.2f tokens/s  (%.2f GB/s of active weights, %.1f MiB/token)\n", o->gen,
                  o->depth > 0 ? fmt::format(" @ d{}", o->depth).c_str() : "", decode_tps, gbps,
                  active_bytes / (1 << 20));
      std::printf("memory: peak RSS %.1f MiB, weights %.1f MiB + KV cache %.1f MiB\n", double(peak_rss) / (1 << 20),
                  double(stats.weight_bytes) / (1 << 20), double(kv_bytes) / (1 << 20));
      if (huge_fraction)
        std::printf("weights mapped with 2 MiB pages: %.1f%% of %.1f MiB resident\n", 100 * *huge_fraction,
                    double(mapped_rss) / (1 << 20));
      if (!probe.runs.empty()) {
        std::printf("decode vs read bandwidth around it (%zu runs): median %.1f%%; best decode %.2f GB/s, best "
                    "read %.2f GB/s (%.1f%%)\n",
                    probe.runs.size(), 100 * probe.median_ratio, probe.best_decode_gbps, probe.best_probe_gbps,
                    100 * probe.best_decode_gbps / probe.best_probe_gbps);
        std::printf("  by phase (both reads around a run >= 85%% / <= 75%% of the best read): %d runs median "
                    "%.1f%% / %d runs median %.1f%%\n",
                    probe.fast.runs, 100 * probe.fast.median_ratio, probe.slow.runs, 100 * probe.slow.median_ratio);
        if (probe.fast_weights_ratio > 0)
          std::printf("  fast phase, decode vs a read of its own weights right after: median %.1f%%\n",
                      100 * probe.fast_weights_ratio);
      }
    }
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("bench", "measure prefill and decode tokens/s of a model", setup);
