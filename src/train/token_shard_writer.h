#pragma once
// Writes a token shard, the format `sputnik train --data` reads:
//   NAME.bin   little-endian uint32 token ids, documents back to back
//   NAME.idx   little-endian uint64 document start offsets (in tokens), n_docs + 1 entries,
//              the last one = total tokens
//   NAME.mask  (SFT shards only) one byte per token: 1 = a training target, 0 = context
//   NAME.json  metadata: tokenizer source, vocab size, n_docs, n_tokens, eos id, sft flag, ...
// Everything is written to NAME.*.tmp and renamed by finish(), so a crashed or interrupted run
// never leaves a shard that looks complete.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sputnik {

// "dir/name.bin" + ".idx" -> "dir/name.idx" (a path without ".bin" gets the extension appended).
std::string shard_sibling(const std::string& bin_path, std::string_view extension);

class TokenShardWriter {
 public:
  // `bin_path` should end in ".bin". `with_mask`: also write NAME.mask (SFT).
  TokenShardWriter(std::string bin_path, bool with_mask);
  ~TokenShardWriter();  // without finish(): removes the temporary files
  TokenShardWriter(const TokenShardWriter&) = delete;
  TokenShardWriter& operator=(const TokenShardWriter&) = delete;

  // One document. `mask` must have tokens.size() entries when the shard has a mask, and be empty
  // otherwise.
  void add_document(std::span<const uint32_t> tokens, std::span<const uint8_t> mask = {});

  // Writes NAME.idx and NAME.json (the given fields plus n_docs, n_tokens, sft, format) and
  // moves every file into place.
  void finish(nlohmann::ordered_json metadata);

  uint64_t n_docs() const { return offsets_.size() - 1; }
  uint64_t n_tokens() const { return offsets_.back(); }
  const std::string& path() const { return bin_path_; }

 private:
  void write(std::FILE* f, const std::string& path, const void* data, size_t bytes);
  void discard();

  std::string bin_path_;
  bool with_mask_;
  bool finished_ = false;
  std::FILE* bin_ = nullptr;
  std::FILE* mask_ = nullptr;
  std::vector<uint64_t> offsets_{0};
};

}  // namespace sputnik
