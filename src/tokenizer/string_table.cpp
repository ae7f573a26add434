#include "tokenizer/string_table.h"

#include <bit>
#include <functional>
#include <limits>

#include "core/error.h"

namespace sputnik {

uint32_t StringTable::hash_of(std::string_view s) {
  const uint64_t h = std::hash<std::string_view>{}(s);
  return uint32_t(h ^ (h >> 32));
}

void StringTable::add(int32_t id, std::string_view s) {
  if (id < 0 || size_t(id) >= by_id_.size()) fail("string table: id {} outside 0..{}", id, by_id_.size());
  if (bytes_.size() + s.size() > std::numeric_limits<uint32_t>::max() ||
      entries_.size() >= size_t(std::numeric_limits<int32_t>::max()))
    fail("string table: more than 4 GiB of strings");
  by_id_[size_t(id)] = int32_t(entries_.size());
  entries_.push_back(Entry{uint32_t(bytes_.size()), uint32_t(s.size()), id, hash_of(s)});
  bytes_.append(s);
}

void StringTable::build_index() {
  // Load factor at most 2/3: the probes stay short and the index costs ~6 bytes a string.
  const size_t cap = std::bit_ceil(std::max<size_t>(16, entries_.size() + entries_.size() / 2));
  slots_.assign(cap, -1);
  mask_ = uint32_t(cap - 1);
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    const std::string_view s(bytes_.data() + e.offset, e.length);
    for (uint32_t h = e.hash & mask_;; h = (h + 1) & mask_) {
      int32_t& slot = slots_[h];
      if (slot < 0) {
        slot = int32_t(i);
        break;
      }
      const Entry& o = entries_[size_t(slot)];
      if (o.hash == e.hash && std::string_view(bytes_.data() + o.offset, o.length) == s) {
        slot = int32_t(i);  // the later entry of the same text wins
        break;
      }
    }
  }
  bytes_.shrink_to_fit();
  entries_.shrink_to_fit();
}

int32_t StringTable::find(std::string_view s) const {
  if (slots_.empty()) return -1;
  const uint32_t hash = hash_of(s);
  for (uint32_t h = hash & mask_;; h = (h + 1) & mask_) {
    const int32_t slot = slots_[h];
    if (slot < 0) return -1;
    const Entry& e = entries_[size_t(slot)];
    if (e.hash == hash && std::string_view(bytes_.data() + e.offset, e.length) == s) return e.id;
  }
}

size_t StringTable::heap_bytes() const {
  return bytes_.capacity() + entries_.capacity() * sizeof(Entry) + (by_id_.capacity() + slots_.capacity()) * sizeof(int32_t);
}

}  // namespace sputnik
