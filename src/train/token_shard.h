#pragma once
// One token shard on disk, memory-mapped and validated (the format `sputnik data` writes):
//   NAME.bin   little-endian uint32 token ids, documents concatenated
//   NAME.idx   optional: little-endian uint64 document starts in tokens, n_docs + 1 entries,
//              first 0, non-decreasing, last = total tokens
//   NAME.mask  optional: one byte per token, 1 when the token may be a training target
//              (SFT: assistant tokens), 0 when not
#include <cstdint>
#include <memory>
#include <string>

#include "core/mapped_file.h"

namespace sputnik::train {

class TokenShard {
 public:
  // Opens `bin_path` (must end in .bin) and its .idx/.mask siblings when present. Throws Error
  // naming the file for a size that is not whole ids, a bad index, a mask of the wrong length,
  // or an id >= vocab_size (vocab_size <= 0 skips that check).
  static TokenShard open(const std::string& bin_path, int64_t vocab_size);

  const std::string& path() const { return path_; }
  int64_t size() const { return n_tokens_; }
  int64_t num_docs() const { return n_docs_; }  // 0 without an index
  bool has_mask() const { return mask_ != nullptr; }
  uint32_t token(int64_t i) const;
  // 1 when token i may be a target (always 1 without a mask file).
  bool target_allowed(int64_t i) const { return !mask_ || mask_->data()[i] != std::byte{0}; }
  // Copies tokens [first, first + count) to out.
  void copy(int64_t first, int64_t count, uint32_t* out) const;

 private:
  std::string path_;
  std::shared_ptr<MappedFile> bin_, mask_;
  int64_t n_tokens_ = 0, n_docs_ = 0;
};

}  // namespace sputnik::train
