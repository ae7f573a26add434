#pragma once
// A stand-in model for scheduler tests: its "KV cache" is the token list of each slot, and the
// next token is a hash of the whole slot history, so any mistake in batching, positions or
// prefix reuse changes the output. It checks batches as Model::forward does.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

#include "server/engine.h"

namespace sputnik::server::testing {

class FakeEngine : public Engine {
 public:
  FakeEngine(int32_t slots, int64_t ctx, int32_t vocab) : ctx_(ctx), vocab_(vocab), cache_(size_t(slots)) {}
  int32_t n_slots() const override { return int32_t(cache_.size()); }
  int64_t ctx() const override { return ctx_; }
  int32_t vocab_size() const override { return vocab_; }

  // The token this model predicts after `history`.
  static int32_t next(const std::vector<int32_t>& history, int32_t vocab) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t t : history) h = (h ^ uint64_t(t)) * 1099511628211ull;
    return int32_t(h % uint64_t(vocab));
  }

  void forward(const Batch& b, float* logits) override {
    // A test that needs several requests queued before the first step holds the engine here.
    while (hold.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++calls;
    max_batch_seen = std::max<int64_t>(max_batch_seen, b.size());
    std::vector<int> per_slot(cache_.size(), 0);
    for (int64_t i = 0; i < b.size(); ++i) {
      const auto s = size_t(b.slots[size_t(i)]);
      if (s >= cache_.size()) throw std::runtime_error("bad slot");
      if (b.positions[size_t(i)] != int64_t(cache_[s].size()) + per_slot[s])
        throw std::runtime_error("position does not follow the slot's length");
      ++per_slot[s];
    }
    int64_t row = 0;
    for (int64_t i = 0; i < b.size(); ++i) {
      auto& c = cache_[size_t(b.slots[size_t(i)])];
      c.push_back(b.tokens[size_t(i)]);
      if (int64_t(c.size()) > ctx_) throw std::runtime_error("context overflow");
      if (!b.want_logits[size_t(i)]) continue;
      float* l = logits + row++ * vocab_;
      for (int32_t v = 0; v < vocab_; ++v) l[v] = 0;
      l[next(c, vocab_)] = 10;
    }
    int64_t distinct = 0;
    for (int n : per_slot) distinct += n > 0;
    max_slots_in_one_call = std::max(max_slots_in_one_call, distinct);
  }
  void truncate(int32_t slot, int64_t n) override {
    auto& c = cache_.at(size_t(slot));
    if (int64_t(c.size()) > n) c.resize(size_t(n));
  }
  void copy_prefix(int32_t src, int32_t dst, int64_t n) override {
    auto& s = cache_.at(size_t(src));
    if (n > int64_t(s.size())) throw std::runtime_error("copy beyond length");
    cache_.at(size_t(dst)).assign(s.begin(), s.begin() + n);
  }

  int64_t calls = 0, max_batch_seen = 0, max_slots_in_one_call = 0;
  std::atomic<bool> hold{false};

 private:
  int64_t ctx_;
  int32_t vocab_;
  std::vector<std::vector<int32_t>> cache_;
};

}  // namespace sputnik::server::testing
