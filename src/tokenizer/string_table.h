#pragma once
// Token strings by id, kept in one byte buffer, with an open-addressing index from string to id.
// A 152k vocabulary held as std::string keys of hash maps and vectors cost ~70 bytes of heap per
// token per copy (~40 MB for a tokenizer that kept four); here a token costs its bytes plus ~20.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sputnik {

class StringTable {
 public:
  // Ids 0..ids-1, none with a string yet.
  explicit StringTable(size_t ids = 0) : by_id_(ids, -1) {}

  // Gives `id` (< ids()) the string `s`. Adding again for the same id replaces what at(id)
  // returns; the string added last for an id or a text is what at() and find() answer, as a
  // map assigned in the same order would (the older entries stay findable under their text).
  void add(int32_t id, std::string_view s);
  // Builds the index that find() uses; call once after the last add().
  void build_index();

  size_t ids() const { return by_id_.size(); }
  bool has(int32_t id) const { return id >= 0 && size_t(id) < by_id_.size() && by_id_[size_t(id)] >= 0; }
  // The string of `id`; empty when it has none.
  std::string_view at(int32_t id) const {
    if (!has(id)) return {};
    const Entry& e = entries_[size_t(by_id_[size_t(id)])];
    return {bytes_.data() + e.offset, e.length};
  }
  // The id whose string is `s` (the last added), -1 if none.
  int32_t find(std::string_view s) const;
  // Heap held (for tests of the tokenizer's footprint).
  size_t heap_bytes() const;

 private:
  struct Entry {
    uint32_t offset, length;
    int32_t id;
    uint32_t hash;
  };
  static uint32_t hash_of(std::string_view s);

  std::string bytes_;
  std::vector<Entry> entries_;
  std::vector<int32_t> by_id_;  // entry of each id, -1 if none
  std::vector<int32_t> slots_;  // entry per slot, -1 empty; linear probing
  uint32_t mask_ = 0;
};

}  // namespace sputnik
