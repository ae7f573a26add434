#pragma once
// Data-parallel training over MPI: every rank computes gradients on its share of the global
// batch, then the gradients are averaged so all ranks take the same optimizer step. Without
// MPI (not built with it, or not launched by mpirun) this is a one-rank world and every
// collective is the identity, so the trainer has a single code path.
//
// Failure: MPI_Finalize waits for every rank, so a rank that fails alone (an I/O error on rank
// 0, say) while the others sit in a collective would hang the job. So a process of a multi-rank
// world that exits with a non-zero status aborts the whole job (glibc's on_exit sees the status);
// guard() does the same for an exception at once and names the rank.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace sputnik::train {

class Distributed {
 public:
  // Initializes MPI when built with it and launched under mpirun/mpiexec; idempotent.
  static Distributed& instance();
  ~Distributed();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // In place: data = (sum over ranks of data) / size. Large buffers are reduced in fixed-size
  // buckets (bucket_bytes()), several in flight at once, each scaled as soon as it arrives, so
  // MPI never needs a buffer the size of the model and int counts cannot overflow. Every rank
  // ends with the same bits.
  void allreduce_mean(float* data, size_t n);
  // In place: data = sum over ranks (losses, token counts, expert loads).
  void allreduce_sum(double* data, size_t n);
  // Copies root's `bytes` bytes to every rank.
  void broadcast(void* data, size_t bytes, int root = 0);
  void barrier();

  // Bucket size of allreduce_mean (default 16 MiB); at least one float.
  void set_bucket_bytes(size_t bytes);
  size_t bucket_bytes() const { return bucket_bytes_; }
  // Wall seconds spent in collectives so far (what data parallelism costs over one process).
  double comm_seconds() const { return comm_seconds_; }

  // Ends every rank's process at once with `code` (MPI_Abort); a one-rank world just exits.
  [[noreturn]] void abort(int code);
  // Runs `body` and returns its exit code; an exception in a multi-rank world is printed as
  // "rank R: error: ..." on stderr and aborts the job instead of leaving the other ranks waiting.
  // In a one-rank world exceptions propagate unchanged.
  int guard(const std::function<int()>& body);

 private:
  Distributed();
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
  size_t bucket_bytes_ = size_t(16) << 20;
  double comm_seconds_ = 0.0;
};

}  // namespace sputnik::train
