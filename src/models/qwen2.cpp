#include "models/qwen2.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/scratch.h"
#include "core/team.h"
#include "core/threads.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/rope.h"
#include "models/decode_panels.h"
#include "models/mlp.h"
#include "models/transformer.h"

namespace sputnik {
namespace {

// transformers' YaRN attention factor: explicit, or mscale ratio, or mscale(factor).
double qwen2_rope_mult(const YarnConfig& y) {
  if (!y.enabled) return 1.0;
  if (y.attention_factor > 0) return y.attention_factor;
  if (y.mscale != 0 && y.mscale_all_dim != 0 && y.has_mscale && y.has_mscale_all_dim)
    return yarn_mscale(y.factor, y.mscale) / yarn_mscale(y.factor, y.mscale_all_dim);
  return yarn_mscale(y.factor, 1.0);
}

class Qwen2 final : public Transformer {
 public:
  Qwen2(std::shared_ptr<const WeightStore> weights, ModelConfig config)
      : Transformer(std::move(weights), std::move(config)) {
    const ModelConfig& c = config_;
    const WeightStore& ws = *weights_;
    const int64_t d = c.hidden_size, q_dim = c.num_attention_heads * c.head_dim,
                  kv_dim = c.num_key_value_heads * c.head_dim;
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l);
      layers_.push_back({load_linear(ws, p + ".self_attn.q_proj", q_dim, d),
                         load_linear(ws, p + ".self_attn.k_proj", kv_dim, d),
                         load_linear(ws, p + ".self_attn.v_proj", kv_dim, d),
                         load_linear(ws, p + ".self_attn.o_proj", d, q_dim),
                         load_mlp(ws, p + ".mlp", d, c.intermediate_size)});
    }
    RopeParams rp;
    rp.dim = c.head_dim;
    rp.theta = c.rope_theta;
    rp.layout = RopeLayout::Half;
    rp.yarn = c.yarn.enabled;
    rp.factor = c.yarn.factor;
    rp.original_max_position_embeddings = c.yarn.original_max_position_embeddings;
    rp.beta_fast = c.yarn.beta_fast;
    rp.beta_slow = c.yarn.beta_slow;
    rp.mult = qwen2_rope_mult(c.yarn);
    rope_ = Rope(rp);
  }

 protected:
  void attention(int64_t layer, const float* h, const Batch& batch, KVCache& cache,
                 float* out) const override {
    const ModelConfig& c = config_;
    const Layer& L = layers_[size_t(layer)];
    const int64_t n = batch.size(), hd = c.head_dim, nh = c.num_attention_heads,
                  nkv = c.num_key_value_heads, q_dim = nh * hd, kv_dim = nkv * hd;
    ScratchLease scratch(size_t(n * (q_dim + 2 * kv_dim)));
    float* q = scratch.take(size_t(n * q_dim));
    float* k = scratch.take(size_t(n * kv_dim));
    float* v = scratch.take(size_t(n * kv_dim));
    // Units of work for the attention below: (sequence, KV head, a range of that head's query
    // heads), enough of them for every thread.
    const int64_t group = nh / nkv, ld = cache.row_stride();
    const auto runs = batch.slot_runs();
    const int64_t groups = int64_t(runs.size()) * nkv;
    const int64_t splits = std::min(group, (num_threads() + groups - 1) / groups);
    // This rank's share of the units (team_for's split; all of them outside a team).
    const int64_t units = groups * splits;
    const int64_t my_first = units * team_rank() / team_size(), my_end = units * (team_rank() + 1) / team_size();
    if (in_team()) {
      // Their cached keys and values start arriving while the q/k/v product streams (asked again
      // right before use below, for what the stream has evicted since: both together took a unit
      // from 8.5 to ~5.5 µs at 64 keys).
      for (int64_t u = my_first; u < my_end; ++u) {
        const Batch::SlotRun& run = runs[size_t(u / splits / nkv)];
        const int64_t kvh = u / splits % nkv, past = batch.positions[size_t(run.tokens[0])];
        const float* base = cache.row(layer, run.slot, 0);
        prefetch_cache_rows(base + kvh * hd, past, ld, hd, int64_t(256) << 10);
        prefetch_cache_rows(base + kv_dim + kvh * hd, past, ld, hd, int64_t(256) << 10);
      }
    }
    // q, k and v share their input. In a team decoding one sequence where the KV heads divide
    // evenly, each rank computes only the rows of the KV heads whose attention it runs (below:
    // team_for's split of the units is one KV head each) and keeps them to itself: no barrier
    // and no exchange of q/k/v between the ranks, and RoPE and biases on its own heads only.
    // Else one parallel region for the three, every rank then holding all of them.
    const MatmulJob qkv[3] = {{&L.q.w, h, n, q}, {&L.k.w, h, n, k}, {&L.v.w, h, n, v}};
    const bool own_heads = in_team() && runs.size() == 1 && nkv % team_size() == 0 && hd % 16 == 0 &&
                           matmul_rows_applies(qkv[0]) && matmul_rows_applies(qkv[1]) && matmul_rows_applies(qkv[2]);
    const int64_t kv0 = own_heads ? nkv * team_rank() / team_size() : 0;
    const int64_t kv1 = own_heads ? nkv * (team_rank() + 1) / team_size() : nkv;
    // One token of one sequence, o_proj in a column panel per rank (models/decode_panels.h): each
    // rank also multiplies its own heads' outputs by its panel of o_proj, and team_sum adds the
    // ranks' outputs: no exchange of attention outputs, one barrier for the whole block.
    // With one unit per KV head, this rank's units [my_first, my_end) are its KV heads [kv0, kv1).
    const bool o_split =
        own_heads && n == 1 && splits == 1 && L.o.panels.size() == size_t(team_size()) && L.o.bias.empty();
    const MatmulJob o_job{o_split ? &L.o.panels[size_t(team_rank())] : &L.o.w, q + kv0 * group * hd, 1, out};
    const bool split = o_split && matmul_rows_applies(o_job);
    if (own_heads) {
      const RowRange rows[3] = {{kv0 * group * hd, kv1 * group * hd}, {kv0 * hd, kv1 * hd}, {kv0 * hd, kv1 * hd}};
      matmul_rows(qkv, rows, 3);
    } else {
      matmul_many(qkv, 3);
    }
    add_bias(L.q, n, q, kv0 * group * hd, kv1 * group * hd);
    add_bias(L.k, n, k, kv0 * hd, kv1 * hd);
    add_bias(L.v, n, v, kv0 * hd, kv1 * hd);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t pos = batch.positions[size_t(t)];
      rope_.apply(q + t * q_dim + kv0 * group * hd, (kv1 - kv0) * group, hd, pos);
      rope_.apply(k + t * kv_dim + kv0 * hd, kv1 - kv0, hd, pos);
    }
    // The new cache rows. The cache is shared by the team (core/team.h), so each slice has one
    // writer: the rank whose units read that (sequence, KV head) pair, when no pair is split
    // between ranks (then nobody waits for anybody); else the leader writes all, then a barrier.
    bool pairs_whole = true;
    for (int r = 1; r < team_size(); ++r) pairs_whole = pairs_whole && units * r / team_size() % splits == 0;
    const auto write_pair = [&](int64_t pair) {
      const Batch::SlotRun& run = runs[size_t(pair / nkv)];
      const int64_t kvh = pair % nkv;
      for (const int64_t t : run.tokens) {
        float* row = cache.row(layer, run.slot, batch.positions[size_t(t)]);
        std::copy_n(k + t * kv_dim + kvh * hd, hd, row + kvh * hd);
        std::copy_n(v + t * kv_dim + kvh * hd, hd, row + kv_dim + kvh * hd);
      }
    };
    if (pairs_whole) {
      for (int64_t pair = my_first / splits; pair < (my_end + splits - 1) / splits; ++pair) write_pair(pair);
    } else {
      if (team_rank() == 0)
        for (int64_t pair = 0; pair < groups; ++pair) write_pair(pair);
      team_sync();
    }
    // A decoding sequence (one query) takes its unit's range of heads together
    // (attend_group_decode reads the cached keys and values once for them); a prompt goes head
    // by head. Each head's output goes where its queries were (in a team, into the team's stage,
    // which every rank reads): a unit reads its (tokens, heads) slice of q before it writes the
    // same slice, and no two units share one.
    float* attn = in_team() && !split ? team_stage(size_t(n * q_dim)) : q;
    const float scale = 1.0f / std::sqrt(float(hd));
    const auto attend_units = [&](int64_t begin, int64_t end) {
      static thread_local std::vector<float> qbuf, obuf;
      for (int64_t u = begin; u < end; ++u) {
        const Batch::SlotRun& run = runs[size_t(u / splits / nkv)];
        const int64_t kvh = u / splits % nkv, part = u % splits;
        const int64_t h0 = kvh * group + group * part / splits, h1 = kvh * group + group * (part + 1) / splits;
        const int64_t m = int64_t(run.tokens.size()), first = batch.positions[size_t(run.tokens[0])];
        const float* base = cache.row(layer, run.slot, 0);
        if (m == 1) {
          prefetch_cache_rows(base + kvh * hd, first, ld, hd, int64_t(256) << 10);
          prefetch_cache_rows(base + kv_dim + kvh * hd, first, ld, hd, int64_t(256) << 10);
          float* qh = q + run.tokens[0] * q_dim + h0 * hd;
          attend_group_decode(qh, hd, h1 - h0, first, hd, base + kvh * hd, ld, base + kv_dim + kvh * hd, ld, hd,
                              scale, attn + (qh - q), hd);
          continue;
        }
        for (int64_t head = h0; head < h1; ++head) {
          qbuf.resize(size_t(m * hd));
          obuf.resize(size_t(m * hd));
          for (int64_t i = 0; i < m; ++i)
            std::copy_n(q + run.tokens[size_t(i)] * q_dim + head * hd, hd, qbuf.data() + i * hd);
          attend_causal(qbuf.data(), hd, m, first, hd, base + kvh * hd, ld, base + kv_dim + kvh * hd, ld, hd,
                        scale, obuf.data(), hd);
          for (int64_t i = 0; i < m; ++i)
            std::copy_n(obuf.data() + i * hd, hd, attn + run.tokens[size_t(i)] * q_dim + head * hd);
        }
      }
    };
    if (split) {
      attend_units(my_first, my_end);
      const RowRange all{0, c.hidden_size};
      matmul_rows(&o_job, &all, 1);
      team_sum(out, c.hidden_size, out);
      count_decode_split();
      return;
    }
    team_for(groups * splits, attend_units);
    L.o(attn, n, out);
  }

  void feed_forward(int64_t layer, const float* h, int64_t n, float* out) const override {
    const Mlp& mlp = layers_[size_t(layer)].mlp;
    if (mlp.splits_decode(n)) return mlp.decode_split(h, out);
    mlp(h, n, out);
  }

 private:
  struct Layer {
    Linear q, k, v, o;
    Mlp mlp;
  };
  std::vector<Layer> layers_;
  Rope rope_;
};

}  // namespace

std::unique_ptr<Model> make_qwen2(std::shared_ptr<const WeightStore> weights, ModelConfig config) {
  return std::make_unique<Qwen2>(std::move(weights), std::move(config));
}

}  // namespace sputnik
