#include "formats/decode_tiles.h"

#include <algorithm>
#include <cstring>

#include "core/cpu.h"
#include "core/threads.h"
#include "kernels/tiles.h"

namespace sputnik {
namespace {

const MappedFile* file_of(const WeightStore& store, const std::byte* p) {
  for (const auto& f : store.files())
    if (p >= f->data() && p < f->data() + f->size()) return f.get();
  return nullptr;
}

// Source bytes [p, p + n) are copied: out of our RSS, with the rest of the 2 MiB pages around
// them (a file mapped with 2 MiB pages maps a whole one for each small tensor read, such as a
// norm; a neighbour not copied yet is mapped again from the page cache when it is read).
void release(const MappedFile* file, const std::byte* p, size_t n) {
  if (!file) return;
  constexpr size_t kHuge = size_t(2) << 20;
  const size_t begin = size_t(p - file->data()) / kHuge * kHuge;
  const size_t end = std::min(file->size(), (size_t(p - file->data()) + n + kHuge - 1) / kHuge * kHuge);
  file->release(begin, end - begin);
}

// Rank of one dot-separated part of a tensor name in decode_order; unknown parts after these.
int part_rank(const std::string& part) {
  static const char* const kOrder[] = {
      "model", "embed_tokens", "layers", "input_layernorm", "self_attn", "q_proj", "q_a_proj", "q_a_layernorm",
      "q_b_proj", "kv_a_proj_with_mqa", "kv_a_layernorm", "kv_b_proj", "k_proj", "v_proj", "o_proj",
      "post_attention_layernorm", "mlp", "gate", "shared_experts", "experts", "gate_proj", "up_proj", "down_proj",
      "weight", "bias", "norm", "lm_head"};
  for (size_t i = 0; i < std::size(kOrder); ++i)
    if (part == kOrder[i]) return int(i);
  return int(std::size(kOrder));
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Part by part: numbers by value, known parts by rank, the rest by name.
bool decode_before(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const size_t ie = std::min(a.find('.', i), a.size()), je = std::min(b.find('.', j), b.size());
    const std::string pa = a.substr(i, ie - i), pb = b.substr(j, je - j);
    if (pa != pb) {
      const bool da = all_digits(pa), db = all_digits(pb);
      if (da && db) return pa.size() != pb.size() ? pa.size() < pb.size() : pa < pb;  // no leading zeros in names
      const int ra = da ? -1 : part_rank(pa), rb = db ? -1 : part_rank(pb);
      return ra != rb ? ra < rb : pa < pb;
    }
    i = ie + 1;
    j = je + 1;
  }
  return a.size() < b.size();
}

}  // namespace

std::vector<std::string> decode_order(const std::vector<std::string>& names) {
  std::vector<std::string> sorted = names;
  std::stable_sort(sorted.begin(), sorted.end(), decode_before);
  return sorted;
}

bool wants_decode_tiles(const WeightStore& store, const std::string& name) {
  const TensorView* t = store.find(name);
  if (!t || !can_tile(*t)) return false;
  if (name.find("kv_b_proj") != std::string::npos) return false;
  if (name.find("embed_tokens") != std::string::npos && store.contains("lm_head.weight")) return false;
  return true;
}

void tile_for_decode(WeightStore& store, const std::function<void(const std::string&, uint64_t)>& on_tensor,
                     const PanelPolicy& panels) {
  // Matrices first, in decode order, then the vectors (norms, biases): a 3.5 KB norm between two
  // products would break the one stream of a rank that goes on from one into the next
  // (core/team.cpp rotates the shares for that).
  auto names = decode_order(store.names());
  std::stable_partition(names.begin(), names.end(),
                        [&](const std::string& n) { return store.get(n).shape.size() >= 2; });
  if (active_isa() != Isa::Avx512) {
    for (const auto& n : names) on_tensor(n, store.get(n).nbytes);
    return;
  }
  // Every tensor moves, tiled or not: a file mapped with 2 MiB pages maps a whole 2 MiB page
  // into our RSS for each small tensor read from it (norms, biases), ~150 MB for a 0.5B model.
  store.decode_tiles = true;
  auto padded = [](size_t n) { return (n + 63) / 64 * 64; };
  // The split matrices: their panels' places in the rank-major region, which takes the place of
  // the first of them. All are split into the same number of panels (one per rank).
  std::vector<DecodePanels> split(names.size());
  std::vector<size_t> offset_in_rank(names.size(), 0);
  size_t rank_bytes = 0;
  int ranks = 1;
  for (size_t i = 0; i < names.size() && panels; ++i) {
    const TensorView& t = store.get(names[i]);
    if (!wants_decode_tiles(store, names[i])) continue;
    const DecodePanels d = panels(store, names[i]);
    if (d.count < 2 || !can_tile_panels(t, d.count, d.axis) || (ranks > 1 && d.count != ranks)) continue;
    ranks = d.count;
    split[i] = d;
    offset_in_rank[i] = rank_bytes;
    rank_bytes += padded(t.nbytes / size_t(d.count));
  }
  size_t total = 0;
  for (size_t i = 0; i < names.size(); ++i)
    if (split[i].count == 1) total += padded(store.get(names[i]).nbytes);
  total += rank_bytes * size_t(ranks);
  std::byte* next = store.allocate_pages(total);
  // The kernel zeroes each new page on its first touch, which was half of loading V2-Lite (8 GB)
  // here on one thread: touch them from all threads first.
  constexpr int64_t kPage = int64_t(2) << 20;
  parallel_for((int64_t(total) + kPage - 1) / kPage, 1, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p)
      for (int64_t off = 0; off < kPage && p * kPage + off < int64_t(total); off += 4096)
        reinterpret_cast<volatile char*>(next)[p * kPage + off] = 0;
  });
  std::byte* region = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& n = names[i];
    const TensorView src = store.get(n);
    const MappedFile* file = file_of(store, src.data);
    if (split[i].count > 1) {
      if (!region) {
        region = next;
        next += rank_bytes * size_t(ranks);
      }
      store.replace(tile_panels_into(src, ranks, split[i].axis, region + offset_in_rank[i], rank_bytes));
      release(file, src.data, src.nbytes);
      on_tensor(n, src.nbytes);
      continue;
    }
    std::byte* dst = next;
    next += padded(src.nbytes);
    TensorView moved = src;
    moved.data = dst;
    const bool tiles = wants_decode_tiles(store, n);
    if (tiles) {
      const size_t tile_bytes = 16 * src.row_bytes();
      const int64_t tiles = src.rows() / 16;
      // A few MiB at a time, the source released behind it.
      const int64_t step = std::max<int64_t>(1, int64_t((size_t(4) << 20) / tile_bytes));
      for (int64_t t0 = 0; t0 < tiles; t0 += step) {
        const int64_t t1 = std::min(tiles, t0 + step);
        parallel_for(t1 - t0, 1, [&](int64_t b, int64_t e) { tile_rows(src, t0 + b, t0 + e, dst); });
        release(file, src.data + size_t(t0) * tile_bytes, size_t(t1 - t0) * tile_bytes);
      }
      const size_t tail = size_t(tiles) * tile_bytes;
      std::memcpy(dst + tail, src.data + tail, src.nbytes - tail);
      release(file, src.data + tail, src.nbytes - tail);
      moved.layout = Layout::Tiles16;
    } else {
      for (size_t off = 0; off < src.nbytes; off += size_t(4) << 20) {
        const size_t len = std::min(src.nbytes - off, size_t(4) << 20);
        std::memcpy(dst + off, src.data + off, len);
        release(file, src.data + off, len);
      }
    }
    store.replace(std::move(moved));
    on_tensor(n, src.nbytes);
  }
  // What copies mapped again after a neighbour's release (pages shared by two tensors); none of
  // the file is read any more.
  for (const auto& f : store.files()) f->release(0, f->size());
}

}  // namespace sputnik
