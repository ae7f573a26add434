#include "models/kv_cache.h"

#include <algorithm>

#include "core/error.h"

namespace sputnik {

KVCache::KVCache(int64_t n_layers, int64_t n_slots, int64_t width, int64_t max_tokens)
    : n_layers_(n_layers), n_slots_(n_slots), width_(width), max_tokens_(max_tokens) {
  if (n_layers <= 0 || n_slots <= 0 || width <= 0 || max_tokens < 0)
    fail("KV cache: bad geometry (layers {}, slots {}, width {}, max tokens {})", n_layers, n_slots,
         width, max_tokens);
  stride_ = padded_stride(width);
  length_.assign(size_t(n_slots), 0);
  store_.resize(size_t(n_slots * n_layers));
}

int64_t KVCache::padded_stride(int64_t width) {
  constexpr int64_t kLine = 64 / int64_t(sizeof(float));
  const int64_t lines = (width + kLine - 1) / kLine;
  return (lines % 2 ? lines : lines + 1) * kLine;
}

void KVCache::check_slot(int64_t slot) const {
  if (slot < 0 || slot >= n_slots_) fail("KV cache: slot {} out of range [0, {})", slot, n_slots_);
}

int64_t KVCache::length(int64_t slot) const {
  check_slot(slot);
  return length_[size_t(slot)];
}

void KVCache::clear(int64_t slot) { truncate(slot, 0); }

void KVCache::truncate(int64_t slot, int64_t n) {
  check_slot(slot);
  if (n < 0) fail("KV cache: cannot truncate slot {} to {} tokens", slot, n);
  length_[size_t(slot)] = std::min(length_[size_t(slot)], n);
}

void KVCache::copy_prefix(int64_t src, int64_t dst, int64_t n) {
  check_slot(src);
  check_slot(dst);
  if (n < 0 || n > length_[size_t(src)])
    fail("KV cache: slot {} holds {} tokens, cannot copy {}", src, length_[size_t(src)], n);
  if (src == dst) {
    truncate(dst, n);
    return;
  }
  reserve(dst, n);
  for (int64_t l = 0; l < n_layers_; ++l)
    std::copy_n(row(l, src, 0), n * stride_, row(l, dst, 0));
  length_[size_t(dst)] = n;
}

void KVCache::reserve(int64_t slot, int64_t n) {
  check_slot(slot);
  if (max_tokens_ && n > max_tokens_)
    fail("KV cache: sequence in slot {} needs {} tokens, the context holds {}", slot, n, max_tokens_);
  for (int64_t l = 0; l < n_layers_; ++l) {
    auto& v = store_[size_t(slot * n_layers_ + l)];
    const size_t need = size_t(n * stride_);
    if (v.size() < need) {
      // Geometric growth keeps appends cheap; capped by the slot's bound.
      size_t grow = std::max(need, v.size() * 2);
      if (max_tokens_) grow = std::min(grow, size_t(max_tokens_ * stride_));
      v.resize(grow);
    }
  }
}

void KVCache::set_length(int64_t slot, int64_t n) {
  check_slot(slot);
  length_[size_t(slot)] = n;
}

}  // namespace sputnik
