#include "core/team.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace sputnik {
namespace {

constexpr int kMaxRanks = 64;

// Shares rotate from call to call: in a team's call k (from 0) rank r owns share (r + k) mod
// size. The products of a decode step lie back to back in memory (formats/decode_tiles.h), so
// with two ranks the one that ended the last product at its end starts the next one at its
// beginning, right behind: one DRAM stream continues instead of two restarting.
//
// A rank's share of the current team_chunks call, as one word: (call tag << 48) | (next << 24) |
// end. The owner takes chunks from the front; a rank done with its own share takes them from the
// back, far from where the owner is streaming (its hardware prefetcher has already asked for the
// lines just ahead). Whoever comes first in a call (the owner, or a thief when the owner starts
// late) sets the cursor up for it: the tag tells the call the word belongs to.
constexpr int kIndexBits = 24;
constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1;
constexpr uint64_t kTagMask = (uint64_t(1) << (64 - 2 * kIndexBits)) - 1;

uint64_t pack(uint64_t tag, int64_t next, int64_t end) {
  return (tag & kTagMask) << (2 * kIndexBits) | uint64_t(next) << kIndexBits | uint64_t(end);
}

struct alignas(64) Cursor {
  std::atomic<uint64_t> word{0};
};

// Thrown at a collective once another rank has failed; swallowed by the rank's wrapper.
struct TeamAborted {};

struct Team {
  int size = 0;
  alignas(64) std::atomic<int> arrived{0};
  alignas(64) std::atomic<uint64_t> generation{0};
  alignas(64) std::atomic<bool> aborted{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  Cursor cursors[kMaxRanks];
  // Resized only by rank 0 between two barriers that every rank enters (team_stage).
  std::vector<float> stage[2];

  void reset(int n) {
    size = n;
    arrived.store(0, std::memory_order_relaxed);
    aborted.store(false, std::memory_order_relaxed);
    error = nullptr;
    for (auto& c : cursors) c.word.store(0, std::memory_order_relaxed);
  }

  void sync() {
    const uint64_t gen = generation.load(std::memory_order_acquire);
    if (arrived.fetch_add(1, std::memory_order_acq_rel) == size - 1) {
      arrived.store(0, std::memory_order_relaxed);
      generation.fetch_add(1, std::memory_order_release);
      return;
    }
    while (generation.load(std::memory_order_acquire) == gen) {
      if (aborted.load(std::memory_order_relaxed)) throw TeamAborted{};
      detail::cpu_relax();
    }
  }
};

// This thread's place in the running team (private to each rank).
struct Rank {
  Team* team = nullptr;
  int rank = 0;
  uint64_t calls = 0;  // team_chunks calls so far: the tag of the current one
  int64_t chunks = 0;  // the current call's chunk count
  int victim = 0;      // team_chunks: which cursor (own + victim) this rank draws from now
  int slot = 0;        // team_stage: the buffer the next call returns
};

thread_local Rank t_rank;

struct SpmdCall {
  Team* team;
  void (*body)(void*, int);
  void* ctx;
};

void run_rank(void* p, int rank) {
  const SpmdCall& call = *static_cast<const SpmdCall*>(p);
  const Rank saved = t_rank;
  t_rank = Rank{call.team, rank};
  try {
    call.body(call.ctx, rank);
  } catch (const TeamAborted&) {
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(call.team->error_mutex);
      if (!call.team->error) call.team->error = std::current_exception();
    }
    call.team->aborted.store(true, std::memory_order_relaxed);
  }
  t_rank = saved;
}

}  // namespace

bool in_team() { return t_rank.team != nullptr; }
int team_rank() { return t_rank.rank; }
int team_size() { return t_rank.team ? t_rank.team->size : 1; }

void team_sync() {
  if (t_rank.team) t_rank.team->sync();
}

float* team_stage(size_t floats) {
  Rank& r = t_rank;
  if (!r.team) {
    static thread_local std::vector<float> own;
    if (own.size() < floats) own.resize(floats);
    return own.data();
  }
  Team& team = *r.team;
  const int slot = r.slot;
  r.slot ^= 1;
  // Every rank reads the same size here (nobody resizes outside the two barriers below), so all
  // take this branch together.
  if (team.stage[slot].size() < floats) {
    team.sync();
    if (r.rank == 0) team.stage[slot].resize(std::max(floats, 2 * team.stage[slot].size()));
    team.sync();
  }
  return team.stage[slot].data();
}

void team_sum(const float* part, int64_t n, float* out) {
  const int ranks = team_size();
  if (ranks == 1) {
    std::copy_n(part, n, out);
    return;
  }
  float* stage = team_stage(size_t(n * ranks));
  std::copy_n(part, n, stage + team_rank() * n);
  team_sync();
  std::copy_n(stage, n, out);
  for (int r = 1; r < ranks; ++r)
    for (int64_t i = 0; i < n; ++i) out[i] += stage[r * n + i];
}

namespace detail {

namespace {

// The word of `owner`'s cursor for the current call of rank r: set up from its previous call's
// word if nobody has yet (ranks of one call compute the same shares).
uint64_t current_word(Rank& r, int owner) {
  Team& team = *r.team;
  std::atomic<uint64_t>& word = team.cursors[owner].word;
  const uint64_t tag = r.calls & kTagMask;
  uint64_t w = word.load(std::memory_order_acquire);
  while (w >> (2 * kIndexBits) != tag) {
    // Between two calls every rank passes a barrier, so a word with another tag is the previous
    // call's, finished.
    const int64_t share = (owner + int64_t(r.calls) - 1) % team.size;
    const int64_t begin = r.chunks * share / team.size, end = r.chunks * (share + 1) / team.size;
    if (word.compare_exchange_weak(w, pack(tag, begin, end), std::memory_order_acq_rel, std::memory_order_acquire))
      return pack(tag, begin, end);
  }
  return w;
}

}  // namespace

void begin_team_chunks(int64_t n) {
  Rank& r = t_rank;
  SPUTNIK_CHECK(n >= 0 && n <= int64_t(kIndexMask));
  ++r.calls;
  r.chunks = n;
  r.victim = 0;
  current_word(r, r.rank);
}

int64_t next_team_chunk() {
  Rank& r = t_rank;
  Team& team = *r.team;
  for (; r.victim < team.size; ++r.victim) {
    const bool own = r.victim == 0;
    const int owner = (r.rank + r.victim) % team.size;
    std::atomic<uint64_t>& word = team.cursors[owner].word;
    uint64_t w = current_word(r, owner);
    const uint64_t tag = w >> (2 * kIndexBits);
    for (;;) {
      const int64_t next = int64_t(w >> kIndexBits & kIndexMask), end = int64_t(w & kIndexMask);
      if (next >= end) break;
      const uint64_t taken = own ? pack(tag, next + 1, end) : pack(tag, next, end - 1);
      if (word.compare_exchange_weak(w, taken, std::memory_order_acq_rel, std::memory_order_acquire))
        return own ? next : end - 1;
    }
  }
  return -1;
}

void run_spmd(int threads, void (*body)(void*, int), void* ctx) {
  // One team at a time (the pool runs one task at a time anyway); the team's buffers persist.
  static std::mutex one_team;
  static Team* team = new Team;  // never destroyed: workers may outlive static destructors
  std::lock_guard<std::mutex> lock(one_team);
  threads = std::min(threads, kMaxRanks);
  team->reset(threads);
  SpmdCall call{team, body, ctx};
  run_on_pool(threads, &run_rank, &call);
  if (team->error) std::rethrow_exception(team->error);
}

}  // namespace detail

}  // namespace sputnik
