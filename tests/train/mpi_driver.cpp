// Run under `mpirun -np N` by mpi_test.py (also runs as a one-rank world without mpirun).
//   train_mpi_driver check   every collective of Distributed gives the right numbers on every
//                            rank, the same bits on all ranks, across bucket boundaries
//   train_mpi_driver abort   rank 1 fails inside guard() while rank 0 waits in a collective:
//                            the whole job must end (non-zero) instead of hanging
//   train_mpi_driver exit    the same without guard(): rank 1 returns 1 from main (as the CLI does
//                            after printing an error); the exit hook must end the job
//   train_mpi_driver bench   allreduce time for a ~14M-parameter Qwen2-shaped model's gradients:
//                            bucketed allreduce_mean vs one MPI_Allreduce vs one per parameter
// Exit status 0 only when this rank's checks passed; mpirun fails when any rank fails.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/config.h"
#include "train/distributed.h"
#include "train/model.h"

#ifdef SPUTNIK_HAVE_MPI
#include <mpi.h>
#endif

namespace sputnik::train {
namespace {

int failures = 0;

#define EXPECT(cond, ...)                                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      ++failures;                                                            \
      std::fprintf(stderr, "rank %d: FAIL %s: ", world().rank(), #cond);    \
      std::fprintf(stderr, __VA_ARGS__);                                     \
      std::fprintf(stderr, "\n");                                            \
    }                                                                        \
  } while (0)

Distributed& world() { return Distributed::instance(); }

// What rank r contributes at index i: random-looking values of mixed sign and magnitude, a
// function of (seed, r, i) so every rank can recompute every other rank's data.
std::vector<float> contribution(uint64_t seed, int r, size_t n) {
  std::mt19937_64 rng(seed * 1000003u + uint64_t(r));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = nd(rng) * std::exp2(float(int(i % 13) - 6));
  return v;
}

// The same bits on every rank: root's copy is broadcast and compared byte for byte.
bool same_on_all_ranks(const void* data, size_t bytes) {
  std::vector<char> root(static_cast<const char*>(data), static_cast<const char*>(data) + bytes);
  world().broadcast(root.data(), bytes, 0);
  double differs = std::memcmp(root.data(), data, bytes) != 0 ? 1.0 : 0.0;
  world().allreduce_sum(&differs, 1);
  return differs == 0.0;
}

void check_mean(size_t n, size_t bucket_bytes, uint64_t seed) {
  const int P = world().size();
  world().set_bucket_bytes(bucket_bytes);
  std::vector<float> data = contribution(seed, world().rank(), n);
  world().allreduce_mean(data.data(), n);
  std::vector<double> expect(n, 0.0), magnitude(n, 0.0);
  for (int r = 0; r < P; ++r) {
    const std::vector<float> v = contribution(seed, r, n);
    for (size_t i = 0; i < n; ++i) expect[i] += v[i], magnitude[i] += std::fabs(v[i]);
  }
  size_t bad = 0, first_bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = expect[i] / P;
    // A float sum of P terms in any order is within (P-1)·2^-24 of the sum of magnitudes; the
    // mean divides that by P and adds one rounding.
    const double tol = 1.2e-7 * magnitude[i];
    if (std::fabs(double(data[i]) - e) > tol) {
      if (!bad) first_bad = i;
      ++bad;
    }
  }
  EXPECT(bad == 0, "allreduce_mean n=%zu bucket=%zu: %zu wrong, first at %zu: %g vs %g", n, bucket_bytes, bad,
         first_bad, double(data[first_bad]), expect[first_bad] / P);
  if (P == 2 && n > 0) {
    // Two ranks: the sum of two floats is one correctly rounded addition, so exact bits are known.
    const std::vector<float> a = contribution(seed, 0, n), b = contribution(seed, 1, n);
    size_t inexact = 0;
    for (size_t i = 0; i < n; ++i) inexact += data[i] != (a[i] + b[i]) * 0.5f;
    EXPECT(inexact == 0, "allreduce_mean n=%zu: %zu values differ from (a+b)/2 in float", n, inexact);
  }
  EXPECT(same_on_all_ranks(data.data(), n * sizeof(float)), "allreduce_mean n=%zu: ranks disagree", n);
}

int run_check() {
  const int P = world().size(), me = world().rank();
  std::printf("rank %d of %d\n", me, P);
  const size_t small = 64;  // bytes: 16 floats per bucket, so bucket edges are exercised cheaply
  for (size_t n : {size_t(0), size_t(1), size_t(15), size_t(16), size_t(17), size_t(16 * 5 + 3)})
    check_mean(n, small, 11 + n);
  check_mean(1000, 1 << 20, 7);                // one bucket
  check_mean((size_t(3) << 20) + 5, 1 << 20, 8);  // 12 MiB in 1 MiB buckets, several in flight
  check_mean(999, 3, 9);  // a silly bucket size still means >= 1 float

  // allreduce_sum: integers are exact in double whatever the order.
  std::vector<double> counts(1000);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = double(i) * (me + 1) - 3.0 * me;
  world().allreduce_sum(counts.data(), counts.size());
  size_t bad = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    double e = 0;
    for (int r = 0; r < P; ++r) e += double(i) * (r + 1) - 3.0 * r;
    bad += counts[i] != e;
  }
  EXPECT(bad == 0, "allreduce_sum: %zu of %zu wrong", bad, counts.size());

  // broadcast from every root, including a length that is not a multiple of anything.
  for (int root = 0; root < P; ++root) {
    std::vector<unsigned char> bytes(1001);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>((i * 31 + size_t(me) * 7) & 255);
    world().broadcast(bytes.data(), bytes.size(), root);
    size_t wrong = 0;
    for (size_t i = 0; i < bytes.size(); ++i) wrong += bytes[i] != ((i * 31 + size_t(root) * 7) & 255);
    EXPECT(wrong == 0, "broadcast from %d: %zu bytes wrong", root, wrong);
  }
  bool threw = false;
  try {
    int x = 0;
    world().broadcast(&x, sizeof x, P);
  } catch (const Error&) {
    threw = true;
  }
  EXPECT(threw || P == 1, "broadcast from a rank outside the world must throw");

  EXPECT(P == 1 || world().comm_seconds() > 0.0, "comm_seconds must count the collectives");
  world().barrier();
  std::printf("rank %d: %s (%d failures)\n", me, failures ? "FAILED" : "ok", failures);
  return failures ? 1 : 0;
}

int run_abort() {
  return world().guard([] {
    if (world().rank() == 1) fail("simulated failure on rank 1 (e.g. a disk error)");
    // Rank 0 waits in a collective that rank 1 never joins; only abort() can end this.
    float x = 1.0f;
    world().allreduce_mean(&x, 1);
    std::printf("rank %d: the collective completed although rank 1 failed\n", world().rank());
    return 0;
  });
}

int run_exit() {
  if (world().rank() == 1) {
    std::fprintf(stderr, "rank 1: leaving with status 1\n");
    return 1;
  }
  float x = 1.0f;
  world().allreduce_mean(&x, 1);
  std::printf("rank %d: the collective completed although rank 1 left\n", world().rank());
  return 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_bench(int repeats) {
  // Issue 5's dense benchmark model: Qwen2-style, hidden 384, 6 layers (~14M parameters).
  const nlohmann::json cfg = {{"model_type", "qwen2"}, {"vocab_size", 4096}, {"hidden_size", 384},
                              {"intermediate_size", 1024}, {"num_hidden_layers", 6}, {"num_attention_heads", 6},
                              {"num_key_value_heads", 2}, {"max_position_embeddings", 1024},
                              {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false}};
  TrainModel model(parse_model_config(cfg, "bench"));
  std::vector<float>& g = model.grads();
  const size_t n = g.size();
  for (size_t i = 0; i < n; ++i) g[i] = float(i % 1000) * 1e-3f;
  const bool root = world().is_root();
  if (root)
    std::printf("%d ranks, %zu parameters in %zu tensors (%.1f MiB of f32 gradients), best of %d\n", world().size(), n,
                model.params().size(), double(n) * 4 / (1 << 20), repeats);
  // Variants take turns within each round, so a burst of load on this shared machine hits them
  // alike; each keeps its best round (the time of the slower rank).
  struct Variant {
    std::string name;
    std::function<void()> run;
    double best = 1e30;
  };
  std::vector<Variant> variants;
  for (size_t kib : {256, 1024, 4096, 16384, 65536})
    variants.push_back({fmt::format("allreduce_mean, {:5} KiB buckets", kib), [&, kib] {
                          world().set_bucket_bytes(kib << 10);
                          world().allreduce_mean(g.data(), n);
                        }});
#ifdef SPUTNIK_HAVE_MPI
  const float inv = 1.0f / float(world().size());
  if (world().size() > 1) {
    variants.push_back({"blocking MPI_Allreduce per 16 MiB bucket", [&] {
                          const size_t bucket = size_t(4) << 20;
                          for (size_t off = 0; off < n; off += bucket)
                            MPI_Allreduce(MPI_IN_PLACE, g.data() + off, int(std::min(bucket, n - off)), MPI_FLOAT,
                                          MPI_SUM, MPI_COMM_WORLD);
                          for (float& x : g) x *= inv;
                        }});
    variants.push_back({"one MPI_Allreduce over all gradients", [&] {
                          MPI_Allreduce(MPI_IN_PLACE, g.data(), int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
                          for (float& x : g) x *= inv;
                        }});
    variants.push_back({"one MPI_Allreduce per parameter tensor", [&] {
                          for (const Param& p : model.params())
                            MPI_Allreduce(MPI_IN_PLACE, g.data() + p.offset, int(p.size), MPI_FLOAT, MPI_SUM,
                                          MPI_COMM_WORLD);
                          for (float& x : g) x *= inv;
                        }});
  }
#endif
  for (int r = 0; r < repeats; ++r)
    for (Variant& v : variants) {
      world().barrier();
      const auto t0 = std::chrono::steady_clock::now();
      v.run();
      // The slowest rank decides: gather every rank's time by summing into its own slot.
      std::vector<double> all(size_t(world().size()), 0.0);
      all[size_t(world().rank())] = seconds_since(t0);
      world().allreduce_sum(all.data(), all.size());
      v.best = std::min(v.best, *std::max_element(all.begin(), all.end()));
    }
  if (root)
    for (const Variant& v : variants)
      std::printf("  %-42s %8.2f ms  (%.2f GB/s of gradients)\n", v.name.c_str(), v.best * 1e3,
                  double(n) * 4 / v.best / 1e9);
  return 0;
}

}  // namespace
}  // namespace sputnik::train

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    using namespace sputnik::train;
    if (mode == "check") return run_check();
    if (mode == "abort") return run_abort();
    if (mode == "exit") return run_exit();
    if (mode == "bench") return run_bench(argc > 2 ? std::atoi(argv[2]) : 5);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mpi_driver: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: %s check|abort|exit|bench [REPEATS]\n", argv[0]);
  return 2;
}
