#pragma once
// Per-sequence key/value memory. Every layer stores one row of `width` floats per token (rows
// row_stride() floats apart):
//   qwen2:    [K (kv_heads*head_dim) | V (kv_heads*head_dim)]
//   deepseek: [normalized latent (kv_lora_rank) | rotated rope key (qk_rope_head_dim)]  (MLA)
// A cache has a fixed number of slots (sequences); the server clears, truncates or copies slots
// to reuse prompt prefixes.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sputnik {

class KVCache {
 public:
  KVCache() = default;
  // max_tokens bounds each slot (0: unbounded); memory grows as tokens arrive.
  KVCache(int64_t n_layers, int64_t n_slots, int64_t width, int64_t max_tokens);

  int64_t n_slots() const { return n_slots_; }
  int64_t n_layers() const { return n_layers_; }
  int64_t width() const { return width_; }
  // Floats from one token's row to the next: width rounded up to an odd number of 64-byte lines.
  // Rows a power-of-two apart (Qwen2.5-0.5B's are 1 KiB) all map to a quarter of the L1 sets,
  // so the 64 keys an attention block reads for every head of a group evicted each other
  // (64 keys: 3.2 µs unpadded, 2.4 µs padded; 512 keys: 25 vs 19 µs).
  int64_t row_stride() const { return stride_; }
  static int64_t padded_stride(int64_t width);
  int64_t max_tokens() const { return max_tokens_; }
  // Memory per token, padding included (the model's kv_bytes_per_token is the data alone).
  int64_t bytes_per_token() const { return n_layers_ * stride_ * int64_t(sizeof(float)); }

  int64_t length(int64_t slot) const;
  void clear(int64_t slot);
  void truncate(int64_t slot, int64_t n);  // keep the first n tokens
  // Makes slot `dst` hold the first n tokens of slot `src` (shared-prefix reuse).
  void copy_prefix(int64_t src, int64_t dst, int64_t n);

  // Used by the models during a forward pass: make room for n tokens, then address rows.
  void reserve(int64_t slot, int64_t n);
  void set_length(int64_t slot, int64_t n);
  float* row(int64_t layer, int64_t slot, int64_t pos) {
    return store_[size_t(slot * n_layers_ + layer)].data() + pos * stride_;
  }
  const float* row(int64_t layer, int64_t slot, int64_t pos) const {
    return store_[size_t(slot * n_layers_ + layer)].data() + pos * stride_;
  }

 private:
  void check_slot(int64_t slot) const;
  int64_t n_layers_ = 0, n_slots_ = 0, width_ = 0, stride_ = 0, max_tokens_ = 0;
  std::vector<int64_t> length_;
  std::vector<std::vector<float>> store_;  // [slot][layer] -> tokens x row_stride
};

}  // namespace sputnik
