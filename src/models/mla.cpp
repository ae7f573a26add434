#include "models/mla.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/scratch.h"
#include "core/team.h"
#include "core/threads.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "kernels/quant.h"
#include "kernels/tiles.h"
#include "models/decode_panels.h"
#include "models/mlp.h"

namespace sputnik {

DType Mla::absorbed_key_dtype(DType kv_b, int64_t nope) {
  if (!dtype_is_quantized(kv_b)) return kv_b;
  return nope % 32 == 0 ? DType::Q8_0 : DType::F32;
}

// The per-head W_UK^T and W_UV products of decode read like any weight matrix: in tiles when
// the store's matrices are (they are slices of kv_b_proj, which the loader leaves row-major,
// or re-quantized copies; row by row they were ~4% of V2-Lite decode). W_UK^T in k_b_owned_
// is tiled where it lies; views into the store get tiled copies.
void Mla::tile_per_head_matrices() {
  auto in_k_b_owned = [&](const TensorView& t) {
    return t.data >= k_b_owned_.data() && t.data < k_b_owned_.data() + k_b_owned_.size();
  };
  size_t copies = 0;
  for (auto* heads : {&k_b_, &v_b_})
    for (const TensorView& t : *heads)
      if (can_tile(t) && !in_k_b_owned(t)) copies += t.nbytes;
  tiled_owned_.resize(copies);
  std::byte* next = tiled_owned_.data();
  std::vector<std::byte> tmp;
  for (auto* heads : {&k_b_, &v_b_})
    for (TensorView& t : *heads) {
      if (!can_tile(t)) continue;
      if (!in_k_b_owned(t)) {
        t = tile_into(t, next);
        next += t.nbytes;
        continue;
      }
      // In place: tiled aside, then copied over the rows it came from.
      std::byte* dst = k_b_owned_.data() + (t.data - k_b_owned_.data());
      tmp.resize(t.nbytes);
      t = tile_into(t, tmp.data());
      std::memcpy(dst, tmp.data(), t.nbytes);
      t.data = dst;
    }
}

Mla::Mla(const WeightStore& ws, const std::string& prefix, const ModelConfig& c) : c_(&c) {
  const int64_t d = c.hidden_size, nh = c.num_attention_heads, nope = c.qk_nope_head_dim,
                rope = c.qk_rope_head_dim, lora = c.kv_lora_rank, vd = c.v_head_dim;
  const int64_t q_dim = nh * (nope + rope);
  q_lora_ = c.q_lora_rank > 0;
  if (q_lora_) {
    q_a_ = load_linear(ws, prefix + ".q_a_proj", c.q_lora_rank, d);
    q_a_norm_ = load_vector(ws, prefix + ".q_a_layernorm.weight", c.q_lora_rank);
    q_b_ = load_linear(ws, prefix + ".q_b_proj", q_dim, c.q_lora_rank);
  } else {
    q_ = load_linear(ws, prefix + ".q_proj", q_dim, d);
  }
  kv_a_ = load_linear(ws, prefix + ".kv_a_proj_with_mqa", lora + rope, d);
  kv_a_norm_ = load_vector(ws, prefix + ".kv_a_layernorm.weight", lora);
  o_ = load_linear(ws, prefix + ".o_proj", d, nh * vd);

  if (const TensorView* kv_b = ws.find(prefix + ".kv_b_proj.weight")) {
    // HF layout: rows per head [k_nope (nope) | v (v_head)], columns = latent.
    ws.get(kv_b->name, {nh * (nope + vd), lora});
    if (ws.contains(prefix + ".kv_b_proj.bias"))
      fail("{}: '{}.kv_b_proj.bias' is not supported by absorbed MLA", ws.source, prefix);
    const TensorView m = as_matrix(*kv_b, nh * (nope + vd), lora);
    // W_UK^T is a transpose of kv_b rows: plain float types keep their dtype (an exact element
    // shuffle, half the bytes for F16/BF16). Quantized ones are dequantized, transposed and
    // re-quantized to Q8_0: decode reads all of W_UK^T every token, and as F32 it was 4x the
    // bytes (113 MB on the V2-Lite shape, ~8% of decode time). Re-quantizing adds Q8_0's
    // rounding (<= 0.4% of each 32-block's max) to the stored type's; llama.cpp too multiplies
    // these weights in a quantized type (with q8 activations). F32 when rows don't split into
    // 32-blocks.
    const DType kt = absorbed_key_dtype(m.dtype, nope);
    const bool plain = !dtype_is_quantized(m.dtype);
    const size_t row_bytes = dtype_bytes(kt, nope);
    const size_t es = plain ? size_t(dtype_info(kt).block_bytes) : 0;
    const size_t head_bytes = size_t(lora) * row_bytes;
    k_b_owned_.resize(size_t(nh) * head_bytes);
    std::vector<float> rows(size_t(nope * lora));
    std::vector<float> row_t(static_cast<size_t>(nope));
    for (int64_t h = 0; h < nh; ++h) {
      std::byte* dst = k_b_owned_.data() + size_t(h) * head_bytes;
      if (plain) {
        for (int64_t j = 0; j < nope; ++j) {
          const std::byte* src = m.row(h * (nope + vd) + j);
          for (int64_t r = 0; r < lora; ++r) std::memcpy(dst + size_t(r * nope + j) * es, src + size_t(r) * es, es);
        }
      } else {
        dequantize_rows(m, h * (nope + vd), nope, rows.data());
        for (int64_t r = 0; r < lora; ++r) {
          for (int64_t j = 0; j < nope; ++j) row_t[size_t(j)] = rows[size_t(j * lora + r)];
          std::byte* out = dst + size_t(r) * row_bytes;
          if (kt == DType::F32)
            std::memcpy(out, row_t.data(), row_bytes);
          else
            quantize_row(kt, row_t.data(), out, nope);
        }
      }
      v_b_.push_back(m.slice(h * (nope + vd) + nope, vd));
    }
    for (int64_t h = 0; h < nh; ++h) {
      TensorView t;
      t.name = kv_b->name + " (W_UK^T)";
      t.dtype = kt;
      t.shape = {lora, nope};
      t.data = k_b_owned_.data() + size_t(h) * head_bytes;
      t.nbytes = head_bytes;
      k_b_.push_back(t);
    }
  } else {
    // llama.cpp's split layout already stores W_UK^T per head and W_UV per head.
    const TensorView& kb = ws.get(prefix + ".k_b_proj.weight", {nh, lora, nope});
    const TensorView& vb = ws.get(prefix + ".v_b_proj.weight", {nh, vd, lora});
    for (int64_t h = 0; h < nh; ++h) {
      k_b_.push_back(as_matrix(kb.slice(h, 1), lora, nope));
      v_b_.push_back(as_matrix(vb.slice(h, 1), vd, lora));
    }
  }

  if (ws.decode_tiles) tile_per_head_matrices();

  RopeParams rp;
  rp.dim = rope;
  rp.theta = c.rope_theta;
  rp.layout = RopeLayout::Interleaved;
  scale_ = float(1.0 / std::sqrt(double(nope + rope)));
  if (c.yarn.enabled) {
    rp.yarn = true;
    rp.factor = c.yarn.factor;
    rp.original_max_position_embeddings = c.yarn.original_max_position_embeddings;
    rp.beta_fast = c.yarn.beta_fast;
    rp.beta_slow = c.yarn.beta_slow;
    rp.mult = yarn_mscale(c.yarn.factor, c.yarn.mscale) / yarn_mscale(c.yarn.factor, c.yarn.mscale_all_dim);
    if (c.yarn.mscale_all_dim != 0) {
      const double m = yarn_mscale(c.yarn.factor, c.yarn.mscale_all_dim);
      scale_ = float(scale_ * m * m);
    }
  }
  rope_ = Rope(rp);
}

void Mla::operator()(int64_t layer, const float* h, const Batch& batch, KVCache& cache,
                     float* out) const {
  const ModelConfig& c = *c_;
  const int64_t n = batch.size(), nh = c.num_attention_heads, nope = c.qk_nope_head_dim,
                rope = c.qk_rope_head_dim, lora = c.kv_lora_rank, vd = c.v_head_dim;
  const int64_t qh = nope + rope, q_dim = nh * qh, width = lora + rope, ld = cache.row_stride();
  const float eps = float(c.rms_norm_eps);
  if (splits_decode(batch)) return decode_split(layer, h, batch, cache, out);

  // All working buffers from this thread's scratch arena (core/scratch.h).
  const int64_t per_pass = n <= 4 ? nh : 1;  // heads per W_UK^T / W_UV pass (see below)
  ScratchLease scratch(size_t(n * (q_dim + width + (q_lora_ ? c.q_lora_rank : 0) + nh * width + nh * lora + nh * vd) +
                              per_pass * n * (std::max(nope, lora) + std::max(lora, vd))));
  float* q = scratch.take(size_t(n * q_dim));
  float* kv = scratch.take(size_t(n * width));
  if (in_team()) {
    // Every unit of the attention below reads all of its sequence's cached rows: they arrive
    // while the first products stream.
    for (const Batch::SlotRun& run : batch.slot_runs())
      prefetch_cache_rows(cache.row(layer, run.slot, 0), batch.positions[size_t(run.tokens[0])], ld, width,
                          int64_t(512) << 10);
  }
  // The first query product and kv_a share their input: one parallel region (and one
  // quantization of h) for both at decode.
  float* q_low = q_lora_ ? scratch.take(size_t(n * c.q_lora_rank)) : nullptr;
  const Linear& q_first = q_lora_ ? q_a_ : q_;
  const MatmulJob first[2] = {{&q_first.w, h, n, q_lora_ ? q_low : q}, {&kv_a_.w, h, n, kv}};
  matmul_many(first, 2);
  add_bias(q_first, n, q_lora_ ? q_low : q);
  add_bias(kv_a_, n, kv);
  if (q_lora_) {
    rms_norm(q_low, q_a_norm_.data(), n, c.q_lora_rank, eps, q_low);
    q_b_(q_low, n, q);
  }
  for (int64_t t = 0; t < n; ++t) {
    const int64_t pos = batch.positions[size_t(t)];
    rope_.apply(q + t * q_dim + nope, nh, qh, pos);
    if (team_rank() != 0) continue;  // the cache is shared: one writer in a team (core/team.h)
    float* row = cache.row(layer, batch.slots[size_t(t)], pos);
    rms_norm(kv + t * width, kv_a_norm_.data(), 1, lora, eps, row);
    std::copy_n(kv + t * width + lora, rope, row + lora);
    rope_.apply(row + lora, 1, rope, pos);
  }
  team_sync();

  // Absorbed queries [n, heads, lora + rope]: per head, one GEMM of all tokens through W_UK^T.
  // For a few tokens (decode) all heads' products share one parallel region (matmul_many); a
  // prompt goes head by head, which bounds the buffers.
  float* qa = scratch.take(size_t(n * nh * width));
  float* head_in = scratch.take(size_t(per_pass * n * std::max(nope, lora)));
  float* head_out = scratch.take(size_t(per_pass * n * std::max(lora, vd)));
  std::vector<MatmulJob> jobs;
  for (int64_t h0 = 0; h0 < nh; h0 += per_pass) {
    jobs.clear();
    for (int64_t i = 0; i < per_pass; ++i) {
      float* in = head_in + i * n * nope;
      for (int64_t t = 0; t < n; ++t) std::copy_n(q + t * q_dim + (h0 + i) * qh, nope, in + t * nope);
      jobs.push_back({&k_b_[size_t(h0 + i)], in, n, head_out + i * n * lora});
    }
    matmul_many(jobs.data(), jobs.size());
    for (int64_t i = 0; i < per_pass; ++i) {
      const float* res = head_out + i * n * lora;
      for (int64_t t = 0; t < n; ++t) {
        float* dst = qa + (t * nh + h0 + i) * width;
        std::copy_n(res + t * lora, lora, dst);
        std::copy_n(q + t * q_dim + (h0 + i) * qh + nope, rope, dst + lora);
      }
    }
  }

  // Attention in latent space; values are the latents themselves. Units of work: (sequence, a
  // range of heads), enough for every thread. A decoding sequence (one query) takes its range of
  // heads together: attend_group_decode reads each cached latent row once for all of them.
  // In a team the ranks' units write into the team's stage, which every rank then reads.
  float* lat = in_team() ? team_stage(size_t(n * nh * lora)) : scratch.take(size_t(n * nh * lora));
  const auto runs = batch.slot_runs();
  const int64_t splits = std::min(nh, (num_threads() + int64_t(runs.size()) - 1) / int64_t(runs.size()));
  team_for(int64_t(runs.size()) * splits, [&](int64_t begin, int64_t end) {
    static thread_local std::vector<float> qbuf, obuf;
    for (int64_t u = begin; u < end; ++u) {
      const Batch::SlotRun& run = runs[size_t(u / splits)];
      const int64_t part = u % splits, h0 = nh * part / splits, h1 = nh * (part + 1) / splits;
      const int64_t m = int64_t(run.tokens.size()), first = batch.positions[size_t(run.tokens[0])];
      const float* base = cache.row(layer, run.slot, 0);
      if (m == 1) {
        attend_group_decode(qa + (run.tokens[0] * nh + h0) * width, width, h1 - h0, first, width, base, ld, base, ld,
                            lora, scale_, lat + (run.tokens[0] * nh + h0) * lora, lora);
        continue;
      }
      for (int64_t head = h0; head < h1; ++head) {
        qbuf.resize(size_t(m * width));
        obuf.resize(size_t(m * lora));
        for (int64_t i = 0; i < m; ++i)
          std::copy_n(qa + (run.tokens[size_t(i)] * nh + head) * width, width, qbuf.data() + i * width);
        attend_causal(qbuf.data(), width, m, first, width, base, ld, base, ld, lora, scale_, obuf.data(), lora);
        for (int64_t i = 0; i < m; ++i)
          std::copy_n(obuf.data() + i * lora, lora, lat + (run.tokens[size_t(i)] * nh + head) * lora);
      }
    }
  });

  // Back to value space per head (W_UV), grouped as above, then the output projection.
  float* attn = scratch.take(size_t(n * nh * vd));
  for (int64_t h0 = 0; h0 < nh; h0 += per_pass) {
    jobs.clear();
    for (int64_t i = 0; i < per_pass; ++i) {
      float* in = head_in + i * n * lora;
      for (int64_t t = 0; t < n; ++t) std::copy_n(lat + (t * nh + h0 + i) * lora, lora, in + t * lora);
      jobs.push_back({&v_b_[size_t(h0 + i)], in, n, head_out + i * n * vd});
    }
    matmul_many(jobs.data(), jobs.size());
    for (int64_t i = 0; i < per_pass; ++i)
      for (int64_t t = 0; t < n; ++t)
        std::copy_n(head_out + (i * n + t) * vd, vd, attn + (t * nh + h0 + i) * vd);
  }
  o_(attn, n, out);
}

bool Mla::splits_decode(const Batch& batch) const {
  const ModelConfig& c = *c_;
  const int ranks = team_size();
  const int64_t nh = c.num_attention_heads, qh = c.qk_nope_head_dim + c.qk_rope_head_dim;
  if (!in_team() || batch.size() != 1 || o_.w.panels != ranks || !o_.w.column_panels() || !o_.bias.empty() ||
      nh % ranks != 0 || nh / ranks * qh % 16 != 0)
    return false;
  const auto serves = [](const TensorView& w) { return matmul_rows_applies({&w, nullptr, 1, nullptr}); };
  return serves(kv_a_.w) && serves(o_.panels[0]) && (q_lora_ ? serves(q_a_.w) && serves(q_b_.w) : serves(q_.w)) &&
         std::all_of(k_b_.begin(), k_b_.end(), serves) && std::all_of(v_b_.begin(), v_b_.end(), serves);
}

void Mla::decode_split(int64_t layer, const float* h, const Batch& batch, KVCache& cache, float* out) const {
  const ModelConfig& c = *c_;
  const int ranks = team_size(), r = team_rank();
  const int64_t d = c.hidden_size, nh = c.num_attention_heads, nope = c.qk_nope_head_dim,
                rope = c.qk_rope_head_dim, lora = c.kv_lora_rank, vd = c.v_head_dim, qh = nope + rope,
                width = lora + rope, ql = q_lora_ ? c.q_lora_rank : 0, ld = cache.row_stride();
  const int64_t h0 = nh * r / ranks, h1 = nh * (r + 1) / ranks, pos = batch.positions[0];
  const float eps = float(c.rms_norm_eps);
  float* base = cache.row(layer, batch.slots[0], 0);
  prefetch_cache_rows(base, pos, ld, width, int64_t(512) << 10);
  // This rank's rows of a product that every rank needs whole: whole tiles, the last rank to
  // the end.
  const auto share = [&](int64_t rows, int rank) { return rank == ranks ? rows : rows * rank / ranks / 16 * 16; };
  ScratchLease scratch(size_t(nh * qh + width + ql + nh * width + 2 * nh * lora + nh * std::max(nope, lora) + nh * vd + d));
  float* q = scratch.take(size_t(nh * qh));
  float* kv = scratch.take(size_t(width));
  float* q_low = scratch.take(size_t(ql));
  float* qa = scratch.take(size_t(nh * width));
  float* head_out = scratch.take(size_t(nh * lora));
  float* lat = scratch.take(size_t(nh * lora));
  float* head_in = scratch.take(size_t(nh * std::max(nope, lora)));
  float* attn = scratch.take(size_t(nh * vd));
  float* y = scratch.take(size_t(d));
  // kv_a (and q_a) rows into the stage, this rank's own query rows (without q_lora) privately.
  float* stage = team_stage(size_t(width + ql));
  std::vector<MatmulJob> jobs{{&kv_a_.w, h, 1, stage}};
  std::vector<RowRange> rows{{share(width, r), share(width, r + 1)}};
  if (q_lora_) {
    jobs.push_back({&q_a_.w, h, 1, stage + width});
    rows.push_back({share(ql, r), share(ql, r + 1)});
  } else {
    jobs.push_back({&q_.w, h, 1, q});
    rows.push_back({h0 * qh, h1 * qh});
  }
  matmul_rows(jobs.data(), rows.data(), jobs.size());
  team_sync();
  std::copy_n(stage, width, kv);
  add_bias(kv_a_, 1, kv);
  if (q_lora_) {
    std::copy_n(stage + width, ql, q_low);
    add_bias(q_a_, 1, q_low);
    rms_norm(q_low, q_a_norm_.data(), 1, ql, eps, q_low);
    const MatmulJob q_job{&q_b_.w, q_low, 1, q};
    const RowRange mine{h0 * qh, h1 * qh};
    matmul_rows(&q_job, &mine, 1);
  }
  add_bias(q_lora_ ? q_b_ : q_, 1, q, h0 * qh, h1 * qh);
  rope_.apply(q + h0 * qh + nope, h1 - h0, qh, pos);
  if (r == 0) {  // the cache is shared: one writer, then a barrier
    float* row = cache.row(layer, batch.slots[0], pos);
    rms_norm(kv, kv_a_norm_.data(), 1, lora, eps, row);
    std::copy_n(kv + lora, rope, row + lora);
    rope_.apply(row + lora, 1, rope, pos);
  }
  // Absorbed queries of this rank's heads (W_UK^T), while the leader's cache row lands.
  jobs.clear();
  rows.clear();
  for (int64_t hd = h0; hd < h1; ++hd) {
    std::copy_n(q + hd * qh, nope, head_in + hd * nope);
    jobs.push_back({&k_b_[size_t(hd)], head_in + hd * nope, 1, head_out + hd * lora});
    rows.push_back({0, lora});
  }
  matmul_rows(jobs.data(), rows.data(), jobs.size());
  for (int64_t hd = h0; hd < h1; ++hd) {
    std::copy_n(head_out + hd * lora, lora, qa + hd * width);
    std::copy_n(q + hd * qh + nope, rope, qa + hd * width + lora);
  }
  team_sync();
  attend_group_decode(qa + h0 * width, width, h1 - h0, pos, width, base, ld, base, ld, lora, scale_, lat + h0 * lora,
                      lora);
  // Back to value space (W_UV), then this rank's columns of o_proj.
  jobs.clear();
  rows.clear();
  for (int64_t hd = h0; hd < h1; ++hd) {
    jobs.push_back({&v_b_[size_t(hd)], lat + hd * lora, 1, attn + hd * vd});
    rows.push_back({0, vd});
  }
  jobs.push_back({&o_.panels[size_t(r)], nullptr, 1, y});
  rows.push_back({0, d});
  matmul_rows(jobs.data(), rows.data(), jobs.size() - 1);
  jobs.back().x = attn + h0 * vd;
  matmul_rows(&jobs.back(), &rows.back(), 1);
  team_sum(y, d, out);
  count_decode_split();
}

}  // namespace sputnik
