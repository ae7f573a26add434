#pragma once
// Data-parallel training over MPI: every rank computes gradients on its share of the global
// batch, then the gradients are averaged so all ranks take the same optimizer step. Without
// MPI (not built with it, or not launched by mpirun) this is a one-rank world and every
// collective is the identity, so the trainer has a single code path.
#include <cstddef>
#include <cstdint>

namespace sputnik::train {

class Distributed {
 public:
  // Initializes MPI when built with it and launched under mpirun/mpiexec; idempotent.
  static Distributed& instance();
  ~Distributed();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // In place: data = (sum over ranks of data) / size.
  void allreduce_mean(float* data, size_t n);
  // In place: data = sum over ranks (losses, token counts, expert loads).
  void allreduce_sum(double* data, size_t n);
  // Copies root's `bytes` bytes to every rank.
  void broadcast(void* data, size_t bytes, int root = 0);
  void barrier();

 private:
  Distributed();
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

}  // namespace sputnik::train
