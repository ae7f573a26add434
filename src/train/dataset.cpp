#include "train/dataset.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace sputnik::train {

namespace {

// The held-out split must not move when --seed changes (eval losses stay comparable).
constexpr uint64_t kSplitSeed = 0x5eed5117ULL;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed) {
  std::vector<int64_t> p(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) p[size_t(i)] = i;
  uint64_t state = seed;
  for (int64_t i = n - 1; i > 0; --i) {
    // Multiply-shift maps 64 random bits to [0, i] with negligible bias for any realistic n.
    const uint64_t r = uint64_t((unsigned __int128)splitmix64(state) * uint64_t(i + 1) >> 64);
    std::swap(p[size_t(i)], p[size_t(r)]);
  }
  return p;
}

std::vector<std::string> split_data_paths(const std::string& list) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= list.size()) {
    size_t j = list.find(',', i);
    if (j == std::string::npos) j = list.size();
    const std::string item = list.substr(i, j - i);
    if (item.empty()) fail("--data: empty path in '{}'", list);
    out.push_back(item);
    i = j + 1;
  }
  return out;
}

int64_t MicroBatch::num_targets() const {
  return int64_t(std::count_if(targets.begin(), targets.end(), [](int32_t t) { return t != -100; }));
}

Dataset::Dataset(const std::vector<std::string>& paths, int64_t vocab_size, int64_t seq, double val_fraction,
                 uint64_t seed)
    : seq_(seq), seed_(seed) {
  if (paths.empty()) fail("--data: no token shards given");
  if (seq < 1) fail("--seq must be at least 1 (got {})", seq);
  if (!(val_fraction >= 0 && val_fraction < 1)) fail("--val-fraction must lie in [0, 1) (got {})", val_fraction);
  for (const std::string& p : paths) {
    shards_.push_back(TokenShard::open(p, vocab_size));
    starts_.push_back(total_);
    total_ += shards_.back().size();
  }
  const int64_t n = (total_ - 1) / seq;
  if (n < 1) fail("--data: {} tokens are too few for one window of --seq {} (needs {})", total_, seq, seq + 1);
  int64_t n_val = val_fraction > 0 ? std::max<int64_t>(1, std::llround(val_fraction * double(n))) : 0;
  if (n - n_val < 1)
    fail("--data: {} windows of --seq {} cannot hold out a validation split of {} and still train; "
         "add data, shorten --seq or set --val-fraction 0",
         n, seq, val_fraction);
  std::vector<int64_t> perm = seeded_permutation(n, kSplitSeed);
  val_.assign(perm.begin(), perm.begin() + n_val);
  train_.assign(perm.begin() + n_val, perm.end());
  std::sort(val_.begin(), val_.end());
  std::sort(train_.begin(), train_.end());
}

int64_t Dataset::num_docs() const {
  int64_t d = 0;
  for (const TokenShard& s : shards_) d += s.num_docs();
  return d;
}

bool Dataset::has_mask() const {
  return std::any_of(shards_.begin(), shards_.end(), [](const TokenShard& s) { return s.has_mask(); });
}

void Dataset::copy_stream(int64_t first, int64_t count, uint32_t* out) const {
  size_t k = size_t(std::upper_bound(starts_.begin(), starts_.end(), first) - starts_.begin()) - 1;
  while (count > 0) {
    const TokenShard& s = shards_[k];
    const int64_t off = first - starts_[k];
    const int64_t take = std::min(count, s.size() - off);
    s.copy(off, take, out);
    out += take, first += take, count -= take;
    ++k;
  }
}

void Dataset::window(int64_t w, int32_t* tokens, int32_t* targets) const {
  SPUTNIK_CHECK(w >= 0 && w < num_windows());
  const int64_t first = w * seq_;
  std::vector<uint32_t> buf(size_t(seq_ + 1));
  copy_stream(first, seq_ + 1, buf.data());
  size_t k = size_t(std::upper_bound(starts_.begin(), starts_.end(), first + 1) - starts_.begin()) - 1;
  for (int64_t s = 0; s < seq_; ++s) {
    const int64_t pos = first + s + 1;  // stream position of the target
    while (k + 1 < starts_.size() && pos >= starts_[k + 1]) ++k;
    tokens[s] = int32_t(buf[size_t(s)]);
    targets[s] = shards_[k].target_allowed(pos - starts_[k]) ? int32_t(buf[size_t(s + 1)]) : -100;
  }
}

const std::vector<int64_t>& Dataset::epoch_order(int64_t epoch) const {
  if (epoch != cached_epoch_) {
    uint64_t mix = seed_ ^ (uint64_t(epoch) * 0xd1b54a32d192ed03ULL);
    order_ = seeded_permutation(num_train_windows(), splitmix64(mix));
    cached_epoch_ = epoch;
  }
  return order_;
}

int64_t Dataset::train_window(int64_t g) const {
  const int64_t n = num_train_windows();
  return train_[size_t(epoch_order(g / n)[size_t(g % n)])];
}

MicroBatch Dataset::gather(const std::vector<int64_t>& windows) const {
  MicroBatch mb;
  mb.rows = int64_t(windows.size());
  mb.seq = seq_;
  mb.tokens.resize(size_t(mb.rows * seq_));
  mb.targets.resize(size_t(mb.rows * seq_));
  for (int64_t r = 0; r < mb.rows; ++r)
    window(windows[size_t(r)], mb.tokens.data() + r * seq_, mb.targets.data() + r * seq_);
  return mb;
}

std::vector<MicroBatch> Dataset::next_step(int64_t batch, int64_t accum, int rank, int world) {
  if (batch < 1 || accum < 1) fail("--batch and --accum must be at least 1");
  if (batch % world != 0)
    fail("--batch {} must be a multiple of the number of ranks ({}) so each rank gets whole rows", batch, world);
  const int64_t per_rank = batch / world;
  std::vector<MicroBatch> out;
  for (int64_t i = 0; i < accum; ++i) {
    std::vector<int64_t> w;
    for (int64_t j = rank * per_rank; j < (rank + 1) * per_rank; ++j) w.push_back(train_window(position_ + i * batch + j));
    out.push_back(gather(w));
  }
  position_ += batch * accum;
  return out;
}

std::vector<MicroBatch> Dataset::val_batches(int64_t batch, int64_t max_windows, int rank, int world) const {
  const int64_t n = max_windows > 0 ? std::min(max_windows, num_val_windows()) : num_val_windows();
  std::vector<MicroBatch> out;
  for (int64_t first = 0; first < n; first += batch) {
    const int64_t rows = std::min(batch, n - first);
    std::vector<int64_t> w;
    for (int64_t j = rows * rank / world; j < rows * (rank + 1) / world; ++j) w.push_back(val_[size_t(first + j)]);
    if (!w.empty()) out.push_back(gather(w));
  }
  return out;
}

}  // namespace sputnik::train
