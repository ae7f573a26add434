#pragma once
// The byte-level BPE model: vocabulary + ranked merges, applied to one pre-tokenized word at
// a time, lowest rank first and leftmost on ties (exactly the order of HF `tokenizers`).
// Words seen before are answered from a per-thread cache.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/string_table.h"

namespace sputnik {

class BpeModel {
 public:
  // `vocab` maps byte-level token strings to ids; merges are pairs of token strings, in rank
  // order. Throws Error when a merge names a token that is not in the vocabulary.
  BpeModel(const std::vector<std::pair<std::string_view, int32_t>>& vocab,
           const std::vector<std::pair<std::string_view, std::string_view>>& merges, bool ignore_merges);

  // Appends the ids of `word` (raw bytes, not byte-level encoded) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  // Id of a byte-level token string, -1 if absent.
  int32_t find(std::string_view token) const;
  // Byte-level token string of an id ("" if absent).
  std::string_view piece(int32_t id) const { return pieces_.at(id); }
  int32_t max_id() const { return int32_t(pieces_.ids()) - 1; }

 private:
  struct MergeSlot {
    uint64_t key;  // (left << 32 | right) + 1, 0 = empty
    uint32_t rank;
    int32_t id;
  };
  // Rank and result of merging (left, right); false if they do not merge.
  bool lookup(int32_t left, int32_t right, uint32_t& rank, int32_t& id) const {
    const uint64_t key = ((uint64_t(uint32_t(left)) << 32) | uint32_t(right)) + 1;
    size_t h = size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
    while (true) {
      const MergeSlot& s = slots_[h];
      if (s.key == key) {
        rank = s.rank;
        id = s.id;
        return true;
      }
      if (s.key == 0) return false;
      h = (h + 1) & mask_;
    }
  }
  void merge_small(int32_t* sym, int n, std::vector<int32_t>& out) const;
  void merge_large(int32_t* sym, int n, std::vector<int32_t>& out) const;
  void merge(std::string_view word, std::vector<int32_t>& out) const;

  StringTable pieces_;  // byte-level strings
  StringTable raw_;     // raw bytes, only with ignore_merges (whole words looked up first)
  std::vector<MergeSlot> slots_;
  size_t mask_ = 0;
  int shift_ = 64;
  int32_t byte_id_[256];
  bool ignore_merges_;
  uint64_t uid_;  // identifies this model's entries in the per-thread caches
};

}  // namespace sputnik
