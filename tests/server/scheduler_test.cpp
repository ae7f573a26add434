// Continuous batching against a fake model whose output depends on the whole history.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "fake_engine.h"
#include "server/scheduler.h"

using namespace sputnik;
using namespace sputnik::server;
using sputnik::server::testing::FakeEngine;

namespace {

constexpr int32_t kVocab = 97;

// Greedy continuation of `prompt` computed directly, one sequence at a time.
std::vector<int32_t> reference(std::vector<int32_t> history, int n, const std::vector<int32_t>& stops = {}) {
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    const int32_t t = FakeEngine::next(history, kVocab);
    if (std::find(stops.begin(), stops.end(), t) != stops.end()) break;
    out.push_back(t);
    history.push_back(t);
  }
  return out;
}

struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int32_t> tokens;
  std::vector<bool> forced;
  SequenceEnd end;
  bool done = false;
  std::function<TokenReply(const TokenEvent&)> reply;

  SequenceSpec spec(std::vector<int32_t> prompt, int64_t max_tokens) {
    SequenceSpec s;
    s.prompt = std::move(prompt);
    s.sampling = SamplingParams::greedy();
    s.max_tokens = max_tokens;
    s.on_token = [this](const TokenEvent& ev) {
      std::lock_guard lock(mu);
      tokens.push_back(ev.token);
      forced.push_back(ev.forced);
      return reply ? reply(ev) : TokenReply{};
    };
    s.on_end = [this](const SequenceEnd& e) {
      std::lock_guard lock(mu);
      end = e;
      done = true;
      cv.notify_all();
    };
    return s;
  }
  void wait() {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return done; }));
  }
};

std::vector<int32_t> prompt_of(int seed, int len) {
  std::vector<int32_t> p;
  for (int i = 0; i < len; ++i) p.push_back((seed * 31 + i * 7) % kVocab);
  return p;
}

}  // namespace

TEST(Scheduler, ConcurrentSequencesMatchSingleRunsAndShareSteps) {
  FakeEngine engine(4, 256, kVocab);
  std::vector<std::unique_ptr<Collector>> cs;
  {
    SchedulerOptions o;
    o.prefill_chunk = 7;  // prompts span several steps, mixed with decoding
    // Queue every request before the first step, so batching does not depend on how fast the
    // scheduler thread happens to run on a busy machine.
    engine.hold = true;
    Scheduler sched(engine, o);
    for (int i = 0; i < 10; ++i) {  // more requests than slots: the rest queue
      cs.push_back(std::make_unique<Collector>());
      sched.submit(cs.back()->spec(prompt_of(i, 5 + i * 3), 20 + i));
    }
    engine.hold = false;
    for (auto& c : cs) c->wait();
    EXPECT_EQ(sched.stats().generated_tokens, [] { int64_t n = 0; for (int i = 0; i < 10; ++i) n += 20 + i; return n; }());
  }
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(cs[size_t(i)]->tokens, reference(prompt_of(i, 5 + i * 3), 20 + i)) << "sequence " << i;
    EXPECT_EQ(cs[size_t(i)]->end.finish_reason, "length");
    EXPECT_EQ(cs[size_t(i)]->end.completion_tokens, 20 + i);
  }
  EXPECT_EQ(engine.max_slots_in_one_call, 4);  // all slots decoded in one forward
  EXPECT_LT(engine.calls, 10 * 25);            // far fewer forwards than tokens
}

TEST(Scheduler, PrefixCacheReusesASharedPrompt) {
  FakeEngine engine(2, 512, kVocab);
  Scheduler sched(engine);
  std::vector<int32_t> system = prompt_of(3, 100);
  auto a = system, b = system;
  a.push_back(1);
  b.push_back(2);
  Collector ca, cb;
  sched.submit(ca.spec(a, 5));
  ca.wait();
  EXPECT_EQ(ca.end.cached_tokens, 0);
  sched.submit(cb.spec(b, 5));
  cb.wait();
  EXPECT_EQ(cb.end.cached_tokens, 100);  // the shared 100 tokens were not recomputed
  EXPECT_EQ(cb.tokens, reference(b, 5));
  // The same prompt again: everything but the last token is reused.
  Collector cc;
  sched.submit(cc.spec(a, 5));
  cc.wait();
  EXPECT_EQ(cc.end.cached_tokens, int64_t(a.size()) - 1);
  EXPECT_EQ(cc.tokens, reference(a, 5));
}

TEST(Scheduler, PrefixCopiedFromABusySlot) {
  FakeEngine engine(3, 512, kVocab);
  Scheduler sched(engine);
  std::vector<int32_t> shared = prompt_of(9, 60);
  Collector first;
  std::atomic<bool> go{false};
  first.reply = [&](const TokenEvent&) {  // keeps the first sequence running
    while (!go.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return TokenReply{};
  };
  auto p1 = shared;
  p1.push_back(5);
  sched.submit(first.spec(p1, 3));
  // Wait until the first sequence's prompt is in its slot (its first token is being emitted).
  for (int i = 0; i < 2000 && first.tokens.empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  Collector second;
  auto p2 = shared;
  p2.push_back(6);
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    go = true;
  });
  sched.submit(second.spec(p2, 4));
  second.wait();
  first.wait();
  t.join();
  EXPECT_EQ(second.end.cached_tokens, 60);
  EXPECT_EQ(second.tokens, reference(p2, 4));
  EXPECT_EQ(first.tokens, reference(p1, 3));
}

TEST(Scheduler, StopTokensStopStringsForcedTokensAndCancel) {
  FakeEngine engine(2, 256, kVocab);
  Scheduler sched(engine);
  const auto p = prompt_of(1, 10);
  const auto ref = reference(p, 30);
  {  // a stop id ends the sequence without emitting it
    Collector c;
    auto s = c.spec(p, 30);
    s.stop_ids = {ref[4]};
    sched.submit(std::move(s));
    c.wait();
    EXPECT_EQ(c.end.finish_reason, "stop");
    EXPECT_EQ(c.tokens, reference(p, 30, {ref[4]}));
  }
  {  // the owner asks to stop (stop string)
    Collector c;
    c.reply = [&](const TokenEvent&) { return TokenReply{c.tokens.size() == 3, {}}; };
    sched.submit(c.spec(p, 30));
    c.wait();
    EXPECT_EQ(c.end.finish_reason, "stop");
    EXPECT_EQ(c.tokens.size(), 3u);
  }
  {  // forced tokens are emitted next and become part of the history
    Collector c;
    c.reply = [&](const TokenEvent&) {
      TokenReply r;
      if (c.tokens.size() == 2) r.force = {50, 51};
      return r;
    };
    sched.submit(c.spec(p, 6));
    c.wait();
    ASSERT_EQ(c.tokens.size(), 6u);
    EXPECT_EQ(c.tokens[2], 50);
    EXPECT_EQ(c.tokens[3], 51);
    EXPECT_TRUE(c.forced[2] && c.forced[3] && !c.forced[4]);
    auto h = p;
    h.insert(h.end(), c.tokens.begin(), c.tokens.begin() + 4);
    EXPECT_EQ(c.tokens[4], FakeEngine::next(h, kVocab));
  }
  {  // cancel frees the slot: later requests still run
    Collector c;
    std::shared_ptr<SequenceHandle> h;
    c.reply = [&](const TokenEvent&) {
      if (c.tokens.size() == 5) h->cancel();
      return TokenReply{};
    };
    {
      // on_token takes c.mu too, so the handle is set before the callback can use it.
      std::lock_guard lock(c.mu);
      h = sched.submit(c.spec(p, 200));
    }
    c.wait();
    EXPECT_EQ(c.end.finish_reason, "cancelled");
    EXPECT_LT(c.tokens.size(), 10u);
    for (int i = 0; i < 4; ++i) {
      Collector d;
      sched.submit(d.spec(p, 3));
      d.wait();
      EXPECT_EQ(d.tokens, reference(p, 3));
    }
    EXPECT_EQ(sched.stats().active, 0);
  }
}

TEST(Scheduler, ContextLimitAndBadInput) {
  FakeEngine engine(1, 16, kVocab);
  Scheduler sched(engine);
  Collector c;
  sched.submit(c.spec(prompt_of(2, 10), 100));
  c.wait();
  EXPECT_EQ(c.end.finish_reason, "length");
  EXPECT_EQ(c.tokens.size(), 7u);  // 10 prompt + 6 fed + the 7th from the last logits
  Collector bad;
  EXPECT_THROW(sched.submit(bad.spec({}, 5)), sputnik::Error);
  EXPECT_THROW(sched.submit(bad.spec(prompt_of(1, 17), 5)), sputnik::Error);
  EXPECT_THROW(sched.submit(bad.spec({kVocab}, 5)), sputnik::Error);
}

TEST(Scheduler, StopEndsQueuedAndActiveSequences) {
  FakeEngine engine(1, 4096, kVocab);
  std::vector<std::unique_ptr<Collector>> cs;
  {
    Scheduler sched(engine);
    for (int i = 0; i < 3; ++i) {
      cs.push_back(std::make_unique<Collector>());
      cs.back()->reply = [](const TokenEvent&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return TokenReply{};
      };
      sched.submit(cs.back()->spec(prompt_of(i, 4), 4000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // destructor stops
  for (auto& c : cs) {
    EXPECT_TRUE(c->done);
    EXPECT_EQ(c->end.finish_reason, "cancelled");
  }
}

TEST(Scheduler, ChoicesOfOnePromptShareOnePrefill) {
  FakeEngine engine(4, 512, kVocab);
  const auto prompt = prompt_of(11, 50);
  std::vector<std::unique_ptr<Collector>> cs;
  SchedulerStats stats;
  {
    SchedulerOptions o;
    o.prefill_chunk = 7;  // the first choice needs several steps: the others arrive mid-prefill
    engine.hold = true;
    Scheduler sched(engine, o);
    for (int i = 0; i < 4; ++i) {
      cs.push_back(std::make_unique<Collector>());
      sched.submit(cs.back()->spec(prompt, 6));
    }
    engine.hold = false;
    for (auto& c : cs) c->wait();
    stats = sched.stats();
  }
  for (auto& c : cs) EXPECT_EQ(c->tokens, reference(prompt, 6));
  // One prefill of 50 tokens; each other choice runs only the last prompt token (its logits).
  EXPECT_EQ(stats.computed_prompt_tokens, 50 + 3);
  EXPECT_EQ(stats.cached_prompt_tokens, 3 * 49);
  EXPECT_EQ(cs[0]->end.cached_tokens, 0);
  for (size_t i = 1; i < cs.size(); ++i) EXPECT_EQ(cs[i]->end.cached_tokens, 49);
}

TEST(Scheduler, MoreChoicesThanSlotsReuseTheFinishedOnes) {
  FakeEngine engine(2, 512, kVocab);
  const auto prompt = prompt_of(12, 40);
  std::vector<std::unique_ptr<Collector>> cs;
  SchedulerStats stats;
  {
    SchedulerOptions o;
    o.prefill_chunk = 16;
    engine.hold = true;
    Scheduler sched(engine, o);
    for (int i = 0; i < 5; ++i) {
      cs.push_back(std::make_unique<Collector>());
      sched.submit(cs.back()->spec(prompt, 4));
    }
    engine.hold = false;
    for (auto& c : cs) c->wait();
    stats = sched.stats();
  }
  for (auto& c : cs) EXPECT_EQ(c->tokens, reference(prompt, 4));
  EXPECT_EQ(stats.computed_prompt_tokens, 40 + 4);
}

TEST(Scheduler, AChoiceWaitingOnACancelledOneComputesThePromptItself) {
  FakeEngine engine(3, 512, kVocab);
  const auto prompt = prompt_of(13, 60);
  Collector lead, c1, c2;
  {
    SchedulerOptions o;
    o.prefill_chunk = 5;
    engine.hold = true;
    Scheduler sched(engine, o);
    auto h = sched.submit(lead.spec(prompt, 5));
    sched.submit(c1.spec(prompt, 5));
    sched.submit(c2.spec(prompt, 5));
    h->cancel();  // before its prompt is in: the others must not wait forever
    engine.hold = false;
    lead.wait();
    c1.wait();
    c2.wait();
  }
  EXPECT_EQ(lead.end.finish_reason, "cancelled");
  EXPECT_EQ(c1.end.finish_reason, "length");
  EXPECT_EQ(c2.end.finish_reason, "length");
  EXPECT_EQ(c1.tokens, reference(prompt, 5));
  EXPECT_EQ(c2.tokens, reference(prompt, 5));
}
