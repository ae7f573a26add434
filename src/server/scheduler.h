#pragma once
// Continuous batching. One thread owns the Engine; each step it runs a single forward holding
// the next token of every decoding sequence plus a chunk of prompt tokens of sequences still
// prefilling. New sequences join between steps, finished or cancelled ones leave and free their
// slot. A freed slot keeps its KV rows and their tokens: a later prompt reuses the longest
// prefix it shares with any slot (truncating a free slot, or copying from a busy one), so a
// shared system prompt or the earlier turns of a conversation are not recomputed. A prompt that
// another sequence is prefilling at that moment (the n choices of one request) waits for those
// rows and copies them, so n choices cost one prefill.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/sampler.h"
#include "server/engine.h"

namespace sputnik::server {

struct TokenEvent {
  int32_t token = 0;
  bool forced = false;  // fed by the server (thinking budget), not sampled
  float logprob = 0;
  std::vector<TokenLogprob> top;  // only when top_logprobs > 0
};

// What the sequence's owner answers to each token (on the scheduler thread).
struct TokenReply {
  bool stop = false;            // e.g. a stop string matched
  std::vector<int32_t> force;   // tokens to emit next instead of sampling
};

struct SequenceEnd {
  std::string finish_reason;  // "stop", "length", "cancelled" or "error"
  std::string error;
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens found in the prefix cache
  int64_t completion_tokens = 0;
};

struct SequenceSpec {
  std::vector<int32_t> prompt;  // at least one token
  SamplingParams sampling;
  int64_t max_tokens = 256;
  bool logprobs = false;
  int top_logprobs = 0;
  std::vector<int32_t> stop_ids;  // end of generation (not emitted)
  std::function<TokenReply(const TokenEvent&)> on_token;
  std::function<void(const SequenceEnd&)> on_end;  // called exactly once
};

class SequenceHandle {
 public:
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
  int64_t prefill_chunk = 256;  // prompt tokens per step, shared by the prefilling sequences
};

struct SchedulerStats {
  int64_t queued = 0, active = 0, slots = 0;
  int64_t steps = 0, generated_tokens = 0, prompt_tokens = 0, cached_prompt_tokens = 0;
  int64_t computed_prompt_tokens = 0;  // prompt tokens run through the model (not reused)
  int64_t max_batch = 0;  // most sequences decoded in one step
  double decode_tokens_per_second = 0;  // over the last few seconds
};

class Scheduler {
 public:
  Scheduler(Engine& engine, SchedulerOptions options = {});
  ~Scheduler();  // stops the thread; pending and active sequences end "cancelled"

  std::shared_ptr<SequenceHandle> submit(SequenceSpec spec);
  void stop();
  SchedulerStats stats() const;

 private:
  struct Seq;
  void loop();
  bool admit(std::unique_ptr<Seq>& seq);
  static bool computing_own_prompt(const Seq& s);
  void take_shared_prefix(Seq& seq);
  void step();
  void finish(Seq& seq, const std::string& reason, const std::string& error = "");
  void emit(Seq& seq, int32_t token, bool forced, const float* logits);

  Engine& engine_;
  SchedulerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> queue_;
  bool stopping_ = false;

  // Scheduler-thread state.
  std::vector<std::unique_ptr<Seq>> active_;
  std::vector<std::vector<int32_t>> slot_tokens_;  // tokens whose KV rows each slot holds
  std::vector<bool> slot_busy_;
  std::vector<uint64_t> slot_used_at_;
  uint64_t clock_ = 0;
  std::vector<float> logits_;

  mutable std::mutex stats_mu_;
  SchedulerStats stats_;
  std::deque<std::pair<double, int64_t>> rate_window_;  // (time, tokens) per step
  std::thread thread_;
};

}  // namespace sputnik::server
