#include "train/distributed.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>

#include "core/error.h"

#ifdef SPUTNIK_HAVE_MPI
#include <mpi.h>
#endif

namespace sputnik::train {

namespace {
// Open MPI, MPICH/Hydra and Slurm each announce the world size in the environment; a plain
// launch has none of them and must not pay for (or fail in) MPI_Init.
bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"})
    if (std::getenv(var)) return true;
  return false;
}

// Buckets reduced concurrently: enough that one bucket's sum is on the wire while the previous
// one is being scaled, few enough that MPI's temporary buffers stay small.
constexpr size_t kInFlight = 2;

class Timer {
 public:
  explicit Timer(double& total) : total_(total), start_(std::chrono::steady_clock::now()) {}
  ~Timer() { total_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  double& total_;
  std::chrono::steady_clock::time_point start_;
};

#ifdef SPUTNIK_HAVE_MPI
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) fail("{} failed (MPI error {})", what, rc);
}
#endif
}  // namespace

Distributed& Distributed::instance() {
  static Distributed d;
#if defined(SPUTNIK_HAVE_MPI) && defined(__GLIBC__)
  // A rank that exits with an error while the others wait in a collective would hang the job in
  // MPI_Finalize (it waits for every rank). glibc's on_exit sees the exit status: a non-zero one
  // aborts the whole job instead. Registered after d exists, so it runs before d's destructor.
  static const bool hooked = d.mpi_ && d.size_ > 1 && on_exit(
      [](int status, void*) {
        if (status != 0) instance().abort(status);
      }, nullptr) == 0;
  (void)hooked;
#endif
  return d;
}

Distributed::Distributed() {
#ifdef SPUTNIK_HAVE_MPI
  if (!launched_by_mpi()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // FUNNELED: pool threads compute, only the main thread talks to MPI.
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) fail("MPI_Init failed");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  mpi_ = true;
#endif
}

Distributed::~Distributed() {
#ifdef SPUTNIK_HAVE_MPI
  int finalized = 0;
  if (mpi_ && (MPI_Finalized(&finalized), !finalized)) MPI_Finalize();
#endif
}

void Distributed::set_bucket_bytes(size_t bytes) { bucket_bytes_ = std::max(bytes, sizeof(float)); }

void Distributed::allreduce_mean(float* data, size_t n) {
  if (size_ == 1 || n == 0) return;
#ifdef SPUTNIK_HAVE_MPI
  Timer timer(comm_seconds_);
  // MPI counts are ints: a bucket never exceeds INT_MAX elements whatever bucket_bytes_ says.
  const size_t bucket = std::min(bucket_bytes_ / sizeof(float), size_t(INT_MAX));
  const float inv = 1.0f / float(size_);
  struct Pending {
    MPI_Request request;
    size_t offset, count;
  };
  std::deque<Pending> pending;
  auto finish_oldest = [&] {
    Pending p = pending.front();
    pending.pop_front();
    check(MPI_Wait(&p.request, MPI_STATUS_IGNORE), "MPI_Allreduce (wait)");
    // Every rank holds the same sum, so every rank gets the same bits from the same scaling.
    float* x = data + p.offset;
    for (size_t i = 0; i < p.count; ++i) x[i] *= inv;
  };
  for (size_t off = 0; off < n; off += bucket) {
    if (pending.size() == kInFlight) finish_oldest();
    Pending p{MPI_REQUEST_NULL, off, std::min(bucket, n - off)};
    check(MPI_Iallreduce(MPI_IN_PLACE, data + off, int(p.count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &p.request),
          "MPI_Allreduce");
    pending.push_back(p);
  }
  while (!pending.empty()) finish_oldest();
#endif
}

void Distributed::allreduce_sum(double* data, size_t n) {
  if (size_ == 1 || n == 0) return;
#ifdef SPUTNIK_HAVE_MPI
  Timer timer(comm_seconds_);
  for (size_t off = 0; off < n; off += size_t(INT_MAX)) {
    const int count = int(std::min(size_t(INT_MAX), n - off));
    check(MPI_Allreduce(MPI_IN_PLACE, data + off, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
  }
#endif
}

void Distributed::broadcast(void* data, size_t bytes, int root) {
  if (size_ == 1 || bytes == 0) return;
  if (root < 0 || root >= size_) fail("broadcast: root {} is not a rank of a {}-rank world", root, size_);
#ifdef SPUTNIK_HAVE_MPI
  Timer timer(comm_seconds_);
  auto* p = static_cast<char*>(data);
  for (size_t off = 0; off < bytes; off += size_t(INT_MAX)) {
    const int count = int(std::min(size_t(INT_MAX), bytes - off));
    check(MPI_Bcast(p + off, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
#endif
}

void Distributed::barrier() {
#ifdef SPUTNIK_HAVE_MPI
  if (mpi_) {
    Timer timer(comm_seconds_);
    MPI_Barrier(MPI_COMM_WORLD);
  }
#endif
}

void Distributed::abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
#ifdef SPUTNIK_HAVE_MPI
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::_Exit(code);
}

int Distributed::guard(const std::function<int()>& body) {
  if (size_ == 1) return body();
  try {
    return body();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "rank %d: error: %s\n", rank_, e.what());
    abort(1);
  }
}

}  // namespace sputnik::train
