#include "train/token_shard.h"

#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace sputnik::train {

namespace fs = std::filesystem;

namespace {

void check_index(const MappedFile& idx, int64_t n_tokens, int64_t& n_docs) {
  if (idx.size() % 8 != 0) fail("{}: size {} is not a whole number of uint64 offsets", idx.path(), idx.size());
  const int64_t n = int64_t(idx.size() / 8);
  if (n < 1) fail("{}: empty index (needs n_docs + 1 offsets)", idx.path());
  uint64_t prev = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint64_t v;
    std::memcpy(&v, idx.data() + i * 8, 8);
    if (i == 0 && v != 0) fail("{}: first document starts at {}, not 0", idx.path(), v);
    if (v < prev) fail("{}: offset {} ({}) is smaller than the one before ({})", idx.path(), i, v, prev);
    if (v > uint64_t(n_tokens))
      fail("{}: offset {} ({}) is past the end of the {} tokens", idx.path(), i, v, n_tokens);
    prev = v;
  }
  if (prev != uint64_t(n_tokens))
    fail("{}: last offset {} does not equal the token count {}", idx.path(), prev, n_tokens);
  n_docs = n - 1;
}

}  // namespace

TokenShard TokenShard::open(const std::string& bin_path, int64_t vocab_size) {
  const fs::path p(bin_path);
  if (p.extension() != ".bin") fail("{}: a token shard must be a .bin file", bin_path);
  TokenShard s;
  s.path_ = bin_path;
  s.bin_ = MappedFile::open(bin_path);
  if (s.bin_->size() % 4 != 0)
    fail("{}: size {} is not a whole number of uint32 token ids", bin_path, s.bin_->size());
  s.n_tokens_ = int64_t(s.bin_->size() / 4);
  if (s.n_tokens_ == 0) fail("{}: no tokens", bin_path);
  if (vocab_size > 0) {
    for (int64_t i = 0; i < s.n_tokens_; ++i) {
      const uint32_t t = s.token(i);
      if (t >= uint64_t(vocab_size))
        fail("{}: token {} at position {} is outside the model's vocabulary of {}", bin_path, t, i, vocab_size);
    }
  }
  fs::path idx = p, mask = p;
  idx.replace_extension(".idx");
  mask.replace_extension(".mask");
  if (fs::exists(idx)) check_index(*MappedFile::open(idx.string()), s.n_tokens_, s.n_docs_);
  if (fs::exists(mask)) {
    s.mask_ = MappedFile::open(mask.string());
    if (int64_t(s.mask_->size()) != s.n_tokens_)
      fail("{}: {} mask bytes for {} tokens (one byte per token expected)", mask.string(), s.mask_->size(),
           s.n_tokens_);
  }
  return s;
}

uint32_t TokenShard::token(int64_t i) const {
  uint32_t v;
  std::memcpy(&v, bin_->data() + i * 4, 4);  // the format is little-endian, as is every CPU we build for
  return v;
}

void TokenShard::copy(int64_t first, int64_t count, uint32_t* out) const {
  std::memcpy(out, bin_->data() + first * 4, size_t(count) * 4);
}

}  // namespace sputnik::train
