#include "tokenizer/bpe.h"

#include <atomic>
#include <memory>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "tokenizer/byte_level.h"

namespace sputnik {

namespace {

constexpr uint32_t kNoRank = UINT32_MAX;
constexpr size_t kMaxCachedWord = 256;       // longer words are merged every time
constexpr size_t kMaxCacheEntries = 1 << 17;  // the cache is emptied when it grows past this

std::atomic<uint64_t> next_uid{1};

// Words already merged, per thread and per model: word bytes -> ids (a range of `ids`).
struct WordCache {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, Hash, std::equal_to<>> words;
  std::vector<int32_t> ids;
  void clear() {
    words.clear();
    ids.clear();
  }
};

// A few caches per thread, so alternating between two tokenizers does not thrash.
WordCache& cache_for(uint64_t uid) {
  constexpr int kSlots = 4;
  thread_local uint64_t uids[kSlots] = {};
  thread_local std::unique_ptr<WordCache> caches[kSlots];
  thread_local int victim = 0;
  for (int i = 0; i < kSlots; ++i)
    if (uids[i] == uid) return *caches[i];
  const int v = victim;
  victim = (victim + 1) % kSlots;
  uids[v] = uid;
  caches[v] = std::make_unique<WordCache>();
  return *caches[v];
}

}  // namespace

BpeModel::BpeModel(const std::vector<std::pair<std::string_view, int32_t>>& vocab,
                   const std::vector<std::pair<std::string_view, std::string_view>>& merges, bool ignore_merges)
    : ignore_merges_(ignore_merges), uid_(next_uid.fetch_add(1)) {
  int32_t max_id = -1;
  for (const auto& [tok, id] : vocab) {
    if (id < 0) fail("tokenizer vocabulary: negative id {} for token '{}'", id, tok);
    max_id = std::max(max_id, id);
  }
  pieces_ = StringTable(size_t(max_id + 1));
  if (ignore_merges_) raw_ = StringTable(size_t(max_id + 1));
  std::string raw;
  for (const auto& [tok, id] : vocab) {
    raw.clear();
    if (ignore_merges_ && byte_level::decode(tok, raw)) raw_.add(id, raw);
    pieces_.add(id, tok);
  }
  pieces_.build_index();
  if (ignore_merges_) raw_.build_index();
  for (int b = 0; b < 256; ++b) byte_id_[b] = find(byte_level::char_of(static_cast<unsigned char>(b)));

  size_t cap = 16;
  while (cap < merges.size() * 2) cap *= 2;
  slots_.assign(cap, MergeSlot{0, 0, 0});
  mask_ = cap - 1;
  shift_ = 64 - __builtin_ctzll(cap);
  std::string joined;
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    const int32_t ia = find(a), ib = find(b);
    if (ia < 0) fail("tokenizer merges: rank {} names '{}', which is not in the vocabulary", r, a);
    if (ib < 0) fail("tokenizer merges: rank {} names '{}', which is not in the vocabulary", r, b);
    joined.assign(a).append(b);
    const int32_t im = find(joined);
    if (im < 0) fail("tokenizer merges: rank {} makes '{}', which is not in the vocabulary", r, joined);
    const uint64_t key = ((uint64_t(uint32_t(ia)) << 32) | uint32_t(ib)) + 1;
    size_t h = size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);
    while (slots_[h].key != 0 && slots_[h].key != key) h = (h + 1) & mask_;
    // A pair listed twice keeps its last rank, as a map built in order does.
    slots_[h] = MergeSlot{key, uint32_t(r), im};
  }
}

int32_t BpeModel::find(std::string_view token) const { return pieces_.find(token); }

// Short words: keep the rank of each adjacent pair and rescan for the lowest one; the scan
// visits symbols left to right, so ties go to the leftmost pair.
void BpeModel::merge_small(int32_t* sym, int n, std::vector<int32_t>& out) const {
  uint32_t rank[kMaxCachedWord];
  int32_t result[kMaxCachedWord];
  int16_t next[kMaxCachedWord + 1];
  int16_t prev[kMaxCachedWord];
  for (int i = 0; i < n; ++i) {
    next[i] = int16_t(i + 1);
    prev[i] = int16_t(i - 1);
    if (i + 1 < n && !lookup(sym[i], sym[i + 1], rank[i], result[i])) rank[i] = kNoRank;
  }
  rank[n - 1] = kNoRank;
  while (true) {
    uint32_t best = kNoRank;
    int at = -1;
    for (int i = 0; i < n; i = next[i])
      if (rank[i] < best) {
        best = rank[i];
        at = i;
      }
    if (at < 0) break;
    const int j = next[at];
    sym[at] = result[at];
    next[at] = next[j];
    if (next[j] < n) prev[next[j]] = int16_t(at);
    const int k = next[at];
    if (k >= n || !lookup(sym[at], sym[k], rank[at], result[at])) rank[at] = kNoRank;
    const int p = prev[at];
    if (p >= 0 && !lookup(sym[p], sym[at], rank[p], result[p])) rank[p] = kNoRank;
  }
  for (int i = 0; i < n; i = next[i]) out.push_back(sym[i]);
}

// Long words (e.g. a run of CJK text in one piece): a min-heap of candidate merges by
// (rank, position), stale entries skipped, as in HF `tokenizers`.
void BpeModel::merge_large(int32_t* sym, int n, std::vector<int32_t>& out) const {
  struct Cand {
    uint32_t rank;
    int32_t pos;
    int32_t id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<int32_t> next(static_cast<size_t>(n)), prev(static_cast<size_t>(n));
  std::vector<char> alive(static_cast<size_t>(n), 1);
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  for (int i = 0; i < n; ++i) {
    next[size_t(i)] = i + 1;
    prev[size_t(i)] = i - 1;
    uint32_t r;
    int32_t id;
    if (i + 1 < n && lookup(sym[i], sym[i + 1], r, id)) heap.push({r, i, id});
  }
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int at = c.pos;
    if (!alive[size_t(at)] || next[size_t(at)] >= n) continue;
    const int j = next[size_t(at)];
    uint32_t r;
    int32_t id;
    if (!lookup(sym[at], sym[j], r, id) || id != c.id) continue;
    sym[at] = id;
    alive[size_t(j)] = 0;
    next[size_t(at)] = next[size_t(j)];
    if (next[size_t(j)] < n) prev[size_t(next[size_t(j)])] = at;
    const int p = prev[size_t(at)];
    if (p >= 0 && lookup(sym[p], sym[at], r, id)) heap.push({r, p, id});
    const int k = next[size_t(at)];
    if (k < n && lookup(sym[at], sym[k], r, id)) heap.push({r, at, id});
  }
  for (int i = 0; i < n; i = next[size_t(i)]) out.push_back(sym[i]);
}

void BpeModel::merge(std::string_view word, std::vector<int32_t>& out) const {
  std::vector<int32_t> heap_sym;
  int32_t stack_sym[kMaxCachedWord];
  int32_t* sym = stack_sym;
  if (word.size() > kMaxCachedWord) {
    heap_sym.resize(word.size());
    sym = heap_sym.data();
  }
  int n = 0;
  for (unsigned char b : word) {
    const int32_t id = byte_id_[b];
    if (id >= 0) sym[n++] = id;  // a byte missing from the vocabulary is dropped (no unk token)
  }
  if (n == 0) return;
  if (n == 1) {
    out.push_back(sym[0]);
  } else if (size_t(n) <= kMaxCachedWord && n <= 64) {
    merge_small(sym, n, out);
  } else {
    merge_large(sym, n, out);
  }
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    const int32_t id = raw_.find(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() == 1) {
    const int32_t id = byte_id_[static_cast<unsigned char>(word[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (word.size() >= kMaxCachedWord) {
    merge(word, out);
    return;
  }
  WordCache& cache = cache_for(uid_);
  auto it = cache.words.find(word);
  if (it != cache.words.end()) {
    const auto [off, len] = it->second;
    out.insert(out.end(), cache.ids.begin() + off, cache.ids.begin() + off + len);
    return;
  }
  const size_t before = out.size();
  merge(word, out);
  if (cache.words.size() >= kMaxCacheEntries) cache.clear();
  const uint32_t off = uint32_t(cache.ids.size());
  cache.ids.insert(cache.ids.end(), out.begin() + before, out.end());
  cache.words.emplace(std::string(word), std::make_pair(off, uint32_t(out.size() - before)));
}

}  // namespace sputnik
