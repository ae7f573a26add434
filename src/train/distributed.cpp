#include "train/distributed.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

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
}  // namespace

Distributed& Distributed::instance() {
  static Distributed d;
  return d;
}

Distributed::Distributed() {
#ifdef SPUTNIK_HAVE_MPI
  if (!launched_by_mpi()) return;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
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

void Distributed::allreduce_mean(float* data, size_t n) {
  if (size_ == 1) return;
#ifdef SPUTNIK_HAVE_MPI
  // MPI counts are ints: reduce in chunks so huge models do not overflow them.
  const size_t chunk = size_t(1) << 28;
  for (size_t off = 0; off < n; off += chunk) {
    int count = int(std::min(chunk, n - off));
    if (MPI_Allreduce(MPI_IN_PLACE, data + off, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
      fail("MPI_Allreduce failed");
  }
  const float inv = 1.0f / float(size_);
  for (size_t i = 0; i < n; ++i) data[i] *= inv;
#endif
}

void Distributed::allreduce_sum(double* data, size_t n) {
  if (size_ == 1) return;
#ifdef SPUTNIK_HAVE_MPI
  if (MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
    fail("MPI_Allreduce failed");
#endif
}

void Distributed::broadcast(void* data, size_t bytes, int root) {
  if (size_ == 1) return;
#ifdef SPUTNIK_HAVE_MPI
  if (MPI_Bcast(data, int(bytes), MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS) fail("MPI_Bcast failed");
#endif
}

void Distributed::barrier() {
#ifdef SPUTNIK_HAVE_MPI
  if (mpi_) MPI_Barrier(MPI_COMM_WORLD);
#endif
}

}  // namespace sputnik::train
