#pragma once
// DeepSeek Multi-head Latent Attention, run in its weight-absorbed form for prefill and decode
// alike. Keys and values are never expanded per head: the cache holds, per token, the
// normalized latent c (kv_lora_rank) and the rotated rope key k_r (qk_rope_head_dim), and
//   score(h) = (W_UK_h^T q_nope_h) · c + q_rope_h · k_r
//   out_h    = W_UV_h (sum_j p_j c_j)
// where kv_b_proj rows for head h are [W_UK_h (qk_nope) ; W_UV_h (v_head)].
#include <string>
#include <vector>

#include "kernels/rope.h"
#include "models/batch.h"
#include "models/config.h"
#include "models/kv_cache.h"
#include "models/weights.h"

namespace sputnik {

class Mla {
 public:
  Mla(const WeightStore& ws, const std::string& prefix, const ModelConfig& c);
  // k_b_ points into k_b_owned_: moving keeps the buffer, copying would not.
  Mla(const Mla&) = delete;
  Mla(Mla&&) = default;
  // The type W_UK^T is kept in for a fused kv_b_proj of type `kv_b` (rows of `nope` values):
  // plain float types as they are, quantized ones as Q8_0 (F32 when nope % 32 != 0).
  static DType absorbed_key_dtype(DType kv_b, int64_t nope);
  // out[n, hidden] for normalized inputs h[n, hidden]; appends the batch's latents to `cache`.
  void operator()(int64_t layer, const float* h, const Batch& batch, KVCache& cache, float* out) const;

 private:
  const ModelConfig* c_;
  bool q_lora_ = false;
  Linear q_, q_a_, q_b_;  // q_ without q_lora, q_a_/q_b_ with it
  std::vector<float> q_a_norm_;
  Linear kv_a_;
  std::vector<float> kv_a_norm_;
  std::vector<std::byte> k_b_owned_;     // W_UK^T per head, re-laid out at load: [heads][kv_lora][nope]
  std::vector<TensorView> k_b_, v_b_;    // per head: [kv_lora, nope] and [v_head, kv_lora]
  std::vector<std::byte> tiled_owned_;   // tiled copies of store-backed k_b_/v_b_ (decode tiles)
  void tile_per_head_matrices();
  // Whether a decode team splits this attention by heads (one token of one sequence, o_proj in
  // one column panel per rank, models/decode_panels.h): each rank computes its share of the
  // rows of kv_a (and q_a), which the ranks exchange at one barrier, then alone its heads' rows
  // of the query, their absorbed queries, attention and values, and its panel of o_proj; the
  // leader writes the cache row before a second barrier, and team_sum adds the ranks' outputs.
  // The same for every rank.
  bool splits_decode(const Batch& batch) const;
  void decode_split(int64_t layer, const float* h, const Batch& batch, KVCache& cache, float* out) const;
  Linear o_;
  Rope rope_;
  float scale_ = 1.0f;
};

}  // namespace sputnik
