#pragma once
// One forward step's worth of tokens, possibly from many sequences at once (like llama_batch):
// each token carries the KV-cache slot of its sequence and its position there, and whether its
// logits are wanted. Within a slot, tokens must come in position order, the first one at the
// slot's current length (the cache appends; truncate the slot first to recompute a suffix).
#include <algorithm>
#include <cstdint>
#include <vector>

namespace sputnik {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> slots;
  std::vector<int64_t> positions;
  std::vector<uint8_t> want_logits;

  void add(int32_t token, int32_t slot, int64_t pos, bool logits) {
    tokens.push_back(token);
    slots.push_back(slot);
    positions.push_back(pos);
    want_logits.push_back(logits ? 1 : 0);
  }
  void clear() { *this = Batch{}; }
  int64_t size() const { return int64_t(tokens.size()); }
  // The batch's tokens grouped by slot (in first-appearance order), each group in position order.
  struct SlotRun {
    int32_t slot;
    std::vector<int64_t> tokens;  // indices into the batch
  };
  std::vector<SlotRun> slot_runs() const {
    std::vector<SlotRun> runs;
    for (int64_t t = 0; t < size(); ++t) {
      auto it = std::find_if(runs.begin(), runs.end(), [&](const SlotRun& r) { return r.slot == slots[size_t(t)]; });
      if (it == runs.end()) it = runs.insert(runs.end(), SlotRun{slots[size_t(t)], {}});
      it->tokens.push_back(t);
    }
    return runs;
  }
  int64_t n_logits() const {
    int64_t n = 0;
    for (uint8_t w : want_logits) n += w;
    return n;
  }
};

}  // namespace sputnik
