#pragma once
// The training data loader. The shards' tokens form one stream (in --data order); window w is
// tokens [w·seq, w·seq + seq + 1): seq inputs and their next-token targets, so consecutive windows
// share one token and every token after the first is a target exactly once per epoch. Targets the
// shard's mask forbids (SFT: non-assistant tokens) become -100.
//
// A fixed share of windows (chosen by a permutation that does not depend on the training seed, so
// runs with different seeds are evaluated on the same text) is held out for validation and never
// trained on. The training windows are visited epoch after epoch, each epoch in its own seeded
// order; the position is one counter (windows consumed), so saving and restoring it is exact.
//
// Data parallel: a step takes a global batch of batch × accum windows; micro-batch i is windows
// [i·batch, (i+1)·batch) of it and each rank takes its contiguous share of the rows, so the
// union over ranks is the same data whatever the number of ranks.
#include <cstdint>
#include <string>
#include <vector>

#include "train/token_shard.h"

namespace sputnik::train {

struct MicroBatch {
  std::vector<int32_t> tokens, targets;  // [rows, seq]
  int64_t rows = 0, seq = 0;
  int64_t num_targets() const;  // targets that are not -100
};

class Dataset {
 public:
  // `paths`: .bin files; ids must be < vocab_size. Throws Error when the data holds fewer than
  // seq + 1 tokens, or too few windows to hold out a validation split and still train.
  Dataset(const std::vector<std::string>& paths, int64_t vocab_size, int64_t seq, double val_fraction,
          uint64_t seed);

  int64_t seq() const { return seq_; }
  int64_t num_tokens() const { return total_; }
  int64_t num_docs() const;
  int64_t num_windows() const { return int64_t(train_.size() + val_.size()); }
  int64_t num_train_windows() const { return int64_t(train_.size()); }
  int64_t num_val_windows() const { return int64_t(val_.size()); }
  bool has_mask() const;

  // Stream window w (0 <= w < num_windows()) into tokens/targets, seq values each.
  void window(int64_t w, int32_t* tokens, int32_t* targets) const;
  // The g-th training window in visiting order (g counts across epochs).
  int64_t train_window(int64_t g) const;
  int64_t val_window(int64_t i) const { return val_[size_t(i)]; }

  // Windows consumed so far; restoring it resumes the exact same sequence of batches.
  int64_t position() const { return position_; }
  void set_position(int64_t p) { position_ = p; }
  int64_t epoch() const { return position_ / num_train_windows(); }

  // The next global batch of batch × accum windows: this rank's rows of each of the accum
  // micro-batches. batch must be a multiple of world.
  std::vector<MicroBatch> next_step(int64_t batch, int64_t accum, int rank, int world);
  // The first min(num_val_windows, max_windows) validation windows (max_windows <= 0: all) in
  // batches of `batch` rows, this rank's share of each.
  std::vector<MicroBatch> val_batches(int64_t batch, int64_t max_windows, int rank, int world) const;

 private:
  MicroBatch gather(const std::vector<int64_t>& windows) const;
  void copy_stream(int64_t first, int64_t count, uint32_t* out) const;
  const std::vector<int64_t>& epoch_order(int64_t epoch) const;

  std::vector<TokenShard> shards_;
  std::vector<int64_t> starts_;  // stream offset of each shard
  int64_t total_ = 0, seq_ = 0;
  uint64_t seed_ = 0;
  std::vector<int64_t> train_, val_;  // window ids, ascending
  int64_t position_ = 0;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> order_;
};

// Splits "a.bin,b.bin" into paths; throws Error on an empty list or an empty item.
std::vector<std::string> split_data_paths(const std::string& list);

// A seeded permutation of [0, n) (Fisher-Yates over splitmix64), identical on every platform and
// standard library, which std::shuffle does not promise.
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed);

}  // namespace sputnik::train
