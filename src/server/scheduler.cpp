#include "server/scheduler.h"

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/threads.h"

namespace sputnik::server {
namespace {

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

struct Scheduler::Seq {
  Seq(SequenceSpec s, std::shared_ptr<SequenceHandle> h)
      : spec(std::move(s)), handle(std::move(h)), sampler(spec.sampling) {}
  SequenceSpec spec;
  std::shared_ptr<SequenceHandle> handle;
  Sampler sampler;
  int32_t slot = -1;
  size_t prefilled = 0;  // prompt tokens whose KV rows are in the slot
  size_t chunk = 0;      // prompt tokens in the current step's batch
  int64_t cached = 0;
  // Waiting for another sequence, which is computing the same prompt prefix right now, to put
  // `share_len` tokens' rows into slot `share_slot` (-1: not waiting).
  int32_t share_slot = -1;
  size_t share_len = 0;
  std::vector<int32_t> generated;
  std::deque<int32_t> forced;
  int32_t next_token = -1;  // last emitted token, fed in the next step; -1 while prefilling
  bool done = false;
};

Scheduler::Scheduler(Engine& engine, SchedulerOptions options)
    : engine_(engine), options_(options) {
  const auto n = size_t(engine_.n_slots());
  if (n == 0) fail("scheduler: the engine has no slots");
  if (options_.prefill_chunk < 1) fail("scheduler: prefill_chunk must be >= 1");
  slot_tokens_.resize(n);
  slot_busy_.assign(n, false);
  slot_used_at_.assign(n, 0);
  stats_.slots = int64_t(n);
  // OpenMP's thread count (data preparation) is per calling thread: carry the creator's (-t) over.
  const int threads = num_threads();
  thread_ = std::thread([this, threads] {
    set_num_threads(threads);
    loop();
  });
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<SequenceHandle> Scheduler::submit(SequenceSpec spec) {
  if (spec.prompt.empty()) fail("empty prompt");
  if (int64_t(spec.prompt.size()) > engine_.ctx())
    fail("the prompt has {} tokens, the context holds {}", spec.prompt.size(), engine_.ctx());
  for (int32_t t : spec.prompt)
    if (t < 0 || t >= engine_.vocab_size()) fail("prompt token {} is outside the vocabulary", t);
  if (spec.max_tokens < 1) fail("max_tokens must be >= 1");
  auto handle = std::make_shared<SequenceHandle>();
  auto seq = std::make_unique<Seq>(std::move(spec), handle);  // Sampler checks its params here
  {
    std::lock_guard lock(mu_);
    if (stopping_) fail("the server is shutting down");
    queue_.push_back(std::move(seq));
  }
  cv_.notify_all();
  return handle;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  {
    std::lock_guard lock(stats_mu_);
    s = stats_;
  }
  std::lock_guard lock(mu_);
  s.queued = int64_t(queue_.size());
  return s;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_) break;
      // Cancelled before they got a slot: end them now.
      for (auto it = queue_.begin(); it != queue_.end();) {
        if ((*it)->handle->cancelled()) {
          finish(**it, "cancelled");
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      while (!queue_.empty() && admit(queue_.front())) {
        active_.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& s : active_)
      if (!s->done && s->handle->cancelled()) finish(*s, "cancelled");
    std::erase_if(active_, [](const auto& s) { return s->done; });
    if (!active_.empty()) step();
    std::erase_if(active_, [](const auto& s) { return s->done; });
  }
  std::unique_lock lock(mu_);
  for (auto& s : active_)
    if (!s->done) finish(*s, "cancelled");
  active_.clear();
  for (auto& s : queue_) finish(*s, "cancelled");
  queue_.clear();
}

bool Scheduler::admit(std::unique_ptr<Seq>& seq) {
  const auto& prompt = seq->spec.prompt;
  // At least the last prompt token is run again: its logits give the first new token.
  const size_t limit = prompt.size() - 1;
  int best_free = -1, best_busy = -1, lru_free = -1;
  size_t free_lcp = 0, busy_lcp = 0;
  for (int s = 0; s < int(slot_tokens_.size()); ++s) {
    const size_t lcp = std::min(common_prefix(slot_tokens_[size_t(s)], prompt), limit);
    if (slot_busy_[size_t(s)]) {
      if (lcp > busy_lcp) busy_lcp = lcp, best_busy = s;
      continue;
    }
    if (lru_free < 0 || slot_used_at_[size_t(s)] < slot_used_at_[size_t(lru_free)]) lru_free = s;
    if (best_free < 0 || lcp > free_lcp ||
        (lcp == free_lcp && slot_used_at_[size_t(s)] < slot_used_at_[size_t(best_free)]))
      best_free = s, free_lcp = lcp;
  }
  if (best_free < 0) return false;
  int slot = best_free;
  size_t reuse = free_lcp;
  if (best_busy >= 0 && busy_lcp > free_lcp) {
    // Another request is using the prefix right now: copy its rows into the stalest free slot.
    slot = lru_free;
    reuse = busy_lcp;
    engine_.copy_prefix(best_busy, slot, int64_t(reuse));
    slot_tokens_[size_t(slot)].assign(prompt.begin(), prompt.begin() + ptrdiff_t(reuse));
  } else {
    engine_.truncate(slot, int64_t(reuse));
    slot_tokens_[size_t(slot)].resize(reuse);
  }
  slot_busy_[size_t(slot)] = true;
  seq->slot = slot;
  seq->prefilled = reuse;
  seq->cached = int64_t(reuse);
  // A sequence still prefilling a longer common prefix (the n choices of one request, or requests
  // arriving together with one system prompt): wait for its rows instead of computing them twice.
  for (const auto& a : active_) {
    if (!computing_own_prompt(*a)) continue;
    const size_t lcp = std::min(common_prefix(a->spec.prompt, prompt), limit);
    if (lcp > reuse && lcp > seq->share_len) seq->share_slot = a->slot, seq->share_len = lcp;
  }
  std::lock_guard lock(stats_mu_);
  stats_.active += 1;
  stats_.prompt_tokens += int64_t(prompt.size());
  stats_.cached_prompt_tokens += int64_t(reuse);
  return true;
}

bool Scheduler::computing_own_prompt(const Seq& s) {
  return !s.done && s.next_token < 0 && s.share_slot < 0;
}

void Scheduler::take_shared_prefix(Seq& seq) {
  const auto& prompt = seq.spec.prompt;
  const size_t limit = prompt.size() - 1;
  const auto src = size_t(seq.share_slot);
  const size_t have = std::min(common_prefix(slot_tokens_[src], prompt), limit);
  bool coming = false;  // is someone still computing the rows this sequence waits for?
  for (const auto& a : active_)
    if (a.get() != &seq && a->slot == seq.share_slot && computing_own_prompt(*a) &&
        std::min(common_prefix(a->spec.prompt, prompt), limit) >= seq.share_len)
      coming = true;
  if (have < seq.share_len && coming) return;
  // Ready, or the other sequence ended early: take what the slot holds and compute the rest.
  if (have > seq.prefilled) {
    engine_.copy_prefix(seq.share_slot, seq.slot, int64_t(have));
    slot_tokens_[size_t(seq.slot)].assign(prompt.begin(), prompt.begin() + ptrdiff_t(have));
    std::lock_guard lock(stats_mu_);
    stats_.cached_prompt_tokens += int64_t(have - seq.prefilled);
    seq.cached += int64_t(have - seq.prefilled);
    seq.prefilled = have;
  }
  seq.share_slot = -1;
}

void Scheduler::finish(Seq& seq, const std::string& reason, const std::string& error) {
  if (seq.done) return;
  seq.done = true;
  if (seq.slot >= 0) {
    slot_busy_[size_t(seq.slot)] = false;
    slot_used_at_[size_t(seq.slot)] = ++clock_;
    std::lock_guard lock(stats_mu_);
    stats_.active -= 1;  // before on_end: whoever waits for the end sees the slot free
  }
  SequenceEnd end;
  end.finish_reason = reason;
  end.error = error;
  end.prompt_tokens = int64_t(seq.spec.prompt.size());
  end.cached_tokens = seq.cached;
  end.completion_tokens = int64_t(seq.generated.size());
  if (seq.spec.on_end) {
    try {
      seq.spec.on_end(end);
    } catch (...) {
      // The owner's bookkeeping failed; the sequence is over either way.
    }
  }
}

void Scheduler::emit(Seq& seq, int32_t token, bool forced, const float* logits) {
  TokenEvent ev;
  ev.token = token;
  ev.forced = forced;
  const auto vocab = size_t(engine_.vocab_size());
  if (seq.spec.logprobs) {
    std::span<const float> row(logits, vocab);
    ev.logprob = token_logprob(row, token);
    if (seq.spec.top_logprobs > 0) ev.top = top_logprobs(row, seq.spec.top_logprobs);
  }
  seq.generated.push_back(token);
  seq.next_token = token;
  {
    // Counted before the owner hears of the token, so totals never lag behind what it saw.
    std::lock_guard lock(stats_mu_);
    stats_.generated_tokens += 1;
  }
  TokenReply reply;
  if (seq.spec.on_token) {
    try {
      reply = seq.spec.on_token(ev);
    } catch (const std::exception& e) {
      finish(seq, "error", e.what());
      return;
    }
  }
  for (int32_t f : reply.force) seq.forced.push_back(f);
  if (reply.stop) {
    finish(seq, "stop");
  } else if (int64_t(seq.generated.size()) >= seq.spec.max_tokens ||
             int64_t(slot_tokens_[size_t(seq.slot)].size()) + 1 > engine_.ctx()) {
    finish(seq, "length");
  }
}

void Scheduler::step() {
  for (auto& s : active_)
    if (!s->done && s->share_slot >= 0) take_shared_prefix(*s);
  Batch batch;
  std::vector<Seq*> owners;  // one per logits row, in batch order
  for (auto& s : active_) {
    if (s->done || s->next_token < 0) continue;
    const auto pos = int64_t(slot_tokens_[size_t(s->slot)].size());
    batch.add(s->next_token, s->slot, pos, true);
    owners.push_back(s.get());
  }
  const size_t n_decode = owners.size();
  int64_t budget = options_.prefill_chunk;
  for (auto& s : active_) {
    s->chunk = 0;
    if (s->done || s->next_token >= 0 || s->share_slot >= 0 || budget <= 0) continue;
    const auto& prompt = s->spec.prompt;
    const size_t take = std::min(prompt.size() - s->prefilled, size_t(budget));
    const auto base = int64_t(slot_tokens_[size_t(s->slot)].size());
    for (size_t i = 0; i < take; ++i) {
      const bool last = s->prefilled + i + 1 == prompt.size();
      batch.add(prompt[s->prefilled + i], s->slot, base + int64_t(i), last);
      if (last) owners.push_back(s.get());
    }
    s->chunk = take;
    budget -= int64_t(take);
  }
  if (batch.size() == 0) return;

  const size_t vocab = size_t(engine_.vocab_size());
  logits_.resize(owners.size() * vocab);
  try {
    engine_.forward(batch, logits_.data());
  } catch (const std::exception& e) {
    // The cache of the slots in this batch is in an unknown state: forget them.
    for (int64_t i = 0; i < batch.size(); ++i) {
      const auto slot = size_t(batch.slots[size_t(i)]);
      engine_.truncate(int32_t(slot), 0);
      slot_tokens_[slot].clear();
    }
    for (auto& s : active_)
      if (!s->done && (s->next_token >= 0 || s->chunk > 0)) finish(*s, "error", e.what());
    return;
  }
  for (int64_t i = 0; i < batch.size(); ++i)
    slot_tokens_[size_t(batch.slots[size_t(i)])].push_back(batch.tokens[size_t(i)]);
  int64_t computed = 0;
  for (auto& s : active_) {
    s->prefilled += s->chunk;
    computed += int64_t(s->chunk);
  }

  // Sampling is independent per sequence (a full-vocabulary sort can cost as much as a small
  // model's forward), so it runs on all threads; the owners' callbacks then run in order.
  std::vector<int32_t> sampled(owners.size(), -1);
  std::vector<std::string> errors(owners.size());
  parallel_for(int64_t(owners.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      Seq& s = *owners[size_t(i)];
      if (s.done || !s.forced.empty()) continue;
      try {  // nothing may escape a parallel task
        sampled[size_t(i)] = s.sampler.sample(
            std::span<const float>(logits_.data() + size_t(i) * vocab, vocab), s.generated);
      } catch (const std::exception& e) {
        errors[size_t(i)] = e.what();
      }
    }
  });
  int64_t produced = 0;
  for (size_t i = 0; i < owners.size(); ++i) {
    Seq& s = *owners[i];
    if (s.done) continue;
    const float* row = logits_.data() + i * vocab;
    int32_t token;
    bool forced = false;
    if (!s.forced.empty()) {
      token = s.forced.front();
      s.forced.pop_front();
      forced = true;
    } else if (!errors[i].empty()) {
      finish(s, "error", errors[i]);
      continue;
    } else {
      token = sampled[i];
      const auto& stops = s.spec.stop_ids;
      if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
        finish(s, "stop");
        continue;
      }
    }
    ++produced;
    emit(s, token, forced, row);
  }

  const double now = now_seconds();
  std::lock_guard lock(stats_mu_);
  stats_.steps += 1;
  stats_.computed_prompt_tokens += computed;
  stats_.max_batch = std::max(stats_.max_batch, int64_t(n_decode));
  rate_window_.emplace_back(now, produced);
  while (rate_window_.size() > 1 && now - rate_window_.front().first > 5.0) rate_window_.pop_front();
  int64_t sum = 0;
  for (auto& [t, n] : rate_window_) sum += n;
  const double span = now - rate_window_.front().first;
  stats_.decode_tokens_per_second = span > 0 ? double(sum - rate_window_.front().second) / span : 0;
}

}  // namespace sputnik::server
