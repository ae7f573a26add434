#pragma once
// A team: the pool's threads running one body together, each the same code on its own data
// ("SPMD"), for a decode step. Between the products of a step there is serial work (norms,
// residuals, quantizing the next input, RoPE). Forked and joined per product, that work runs on
// one core while the other waits, and every new region makes the waiting core fetch the task,
// its arguments and the quantized input from the other core's cache before it can start its
// DRAM stream. In a team every thread does the serial work itself on private buffers (it is
// tiny), and the products meet at one barrier each.
//
// Inside run_team_spmd:
//  - team collectives (team_chunks, team_for, team_stage, team_sync; and the kernels built on
//    them, e.g. matmul() at decode sizes) must be called by every rank in the same order with
//    the same arguments (each rank computes them from identical private data);
//  - everything else runs on every rank redundantly, including parallel_for/parallel_chunks
//    (serial inside a team): their results land in the rank's private buffers, as without a
//    team. Writes to shared state (the KV cache) are the leader's (team_rank() == 0), followed
//    by team_sync() before anyone reads them.
// Outside a team the collectives degrade to one thread's plain loops, so code written for a
// team also runs unchanged without one.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "core/threads.h"

namespace sputnik {

bool in_team();
int team_rank();  // 0 outside a team
int team_size();  // 1 outside a team

// A barrier of the team (nothing outside one).
void team_sync();

// Memory every rank sees at the same address: where a split computation writes its shares for
// all ranks to read after the next team_sync. Two buffers alternate between calls, so a staged
// result stays valid until the second next team_stage call (of any size); every rank must make
// the same calls. Outside a team, this thread's own buffer.
float* team_stage(size_t floats);

// out[0, n) = the sum over the ranks of each one's part[0, n), added in rank order
// (((part₀ + part₁) + part₂) …, the same floats on every rank), for products that the ranks
// split by columns. One team_stage and one team_sync; out may be part. Outside a team: a copy.
void team_sum(const float* part, int64_t n, float* out);

// Runs fn(c) for every c in [0, n) once across the team, then team_sync(). Each rank walks its
// own contiguous share first (one DRAM stream; which share is its own rotates from call to
// call), then takes chunks from the back of the others' shares (a core slowed by its neighbours
// must not hold the other back). Outside a team: plain parallel_chunks.
template <typename Fn>
void team_chunks(int64_t n, Fn&& fn);

// Runs fn(begin, end) on this rank's contiguous share of [0, n), then team_sync() (units of
// similar cost, e.g. attention heads). Outside a team: parallel_for(n, 1, fn).
template <typename Fn>
void team_for(int64_t n, Fn&& fn);

// Runs body(rank) on min(threads, num_threads()) threads as one team and returns when all are
// done. An exception on any rank stops the others at their next collective; the first one is
// rethrown here. With one thread (or already inside a parallel region), body(0) runs here
// without a team.
template <typename Body>
void run_team_spmd(int threads, Body&& body);

namespace detail {

// begin_team_chunks starts a call with n chunks; next_team_chunk claims the next one for this
// rank (own share first, then the others'), -1 when none is left.
void begin_team_chunks(int64_t n);
int64_t next_team_chunk();
void run_spmd(int threads, void (*body)(void*, int), void* ctx);

template <typename Body>
void run_spmd_body(void* ctx, int rank) {
  (*static_cast<Body*>(ctx))(rank);
}

}  // namespace detail

template <typename Fn>
void team_chunks(int64_t n, Fn&& fn) {
  if (!in_team()) {
    parallel_chunks(n, fn);
    return;
  }
  detail::begin_team_chunks(n);
  for (int64_t c; (c = detail::next_team_chunk()) >= 0;) fn(c);
  team_sync();
}

template <typename Fn>
void team_for(int64_t n, Fn&& fn) {
  if (!in_team()) {
    parallel_for(n, 1, fn);
    return;
  }
  const int64_t begin = n * team_rank() / team_size(), end = n * (team_rank() + 1) / team_size();
  if (begin < end) fn(begin, end);
  team_sync();
}

template <typename Body>
void run_team_spmd(int threads, Body&& body) {
  threads = std::min(threads, num_threads());
  if (threads <= 1 || detail::in_parallel()) {
    body(0);
    return;
  }
  detail::run_spmd(threads, &detail::run_spmd_body<std::remove_reference_t<Body>>, &body);
}

}  // namespace sputnik
