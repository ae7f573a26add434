#include "models/transformer.h"

#include <atomic>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/team.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"
#include "models/decode_panels.h"

namespace sputnik {

Transformer::Transformer(std::shared_ptr<const WeightStore> weights, ModelConfig config)
    : Model(std::move(weights), std::move(config)) {
  const WeightStore& ws = *weights_;
  const ModelConfig& c = config_;
  embed_ = ws.get("model.embed_tokens.weight", {c.vocab_size, c.hidden_size});
  // Tied checkpoints (and GGUF files without an output tensor) reuse the embedding as the head.
  if (!c.tie_word_embeddings && ws.contains("lm_head.weight"))
    head_ = load_linear(ws, "lm_head", c.vocab_size, c.hidden_size);
  else
    head_.w = embed_;
  final_norm_ = load_vector(ws, "model.norm.weight", c.hidden_size);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l);
    attn_norm_.push_back(load_vector(ws, p + ".input_layernorm.weight", c.hidden_size));
    ffn_norm_.push_back(load_vector(ws, p + ".post_attention_layernorm.weight", c.hidden_size));
  }
}

namespace {

std::atomic<bool> g_decode_team{[] {
  const char* env = std::getenv("SPUTNIK_DECODE_TEAM");
  return !env || std::string_view(env) != "0";
}()};

bool decode_team(int64_t n) {
  return g_decode_team.load(std::memory_order_relaxed) && n <= kDecodeTeamTokens && num_threads() > 1 &&
         !matmul_exact() && !detail::in_parallel();
}

}  // namespace

void set_decode_team(bool on) { g_decode_team.store(on, std::memory_order_relaxed); }

void Transformer::forward(const Batch& batch, KVCache& cache, float* logits) {
  prepare(batch, cache);
  if (!logits && batch.n_logits() > 0)
    fail("forward: logits requested for {} tokens but no output buffer given", batch.n_logits());
  const int64_t n = batch.size(), d = config_.hidden_size;
  const float eps = float(config_.rms_norm_eps);
  std::vector<float> x(size_t(n * d)), h(size_t(n * d));
  for (int64_t t = 0; t < n; ++t) dequantize_rows(embed_, batch.tokens[size_t(t)], 1, x.data() + t * d);

  // x: this rank's residual stream (in a team every rank keeps its own copy).
  const auto layers = [&](float* x) {
    std::vector<float> h(size_t(n * d)), y(size_t(n * d));
    for (int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      rms_norm(x, attn_norm_[size_t(l)].data(), n, d, eps, h.data());
      attention(l, h.data(), batch, cache, y.data());
      for (int64_t i = 0; i < n * d; ++i) x[i] += y[size_t(i)];
      rms_norm(x, ffn_norm_[size_t(l)].data(), n, d, eps, h.data());
      feed_forward(l, h.data(), n, y.data());
      for (int64_t i = 0; i < n * d; ++i) x[i] += y[size_t(i)];
    }
  };
  // Only the wanted rows go through the (large) output head.
  const int64_t m = batch.n_logits();
  const auto final_norm = [&](const float* x, float* h) {
    for (int64_t t = 0, row = 0; t < n; ++t)
      if (batch.want_logits[size_t(t)]) rms_norm(x + t * d, final_norm_.data(), 1, d, eps, h + (row++) * d);
  };
  bool head_done = false;
  if (decode_team(n)) {
    // With the head in a row panel per rank (models/decode_panels.h), each rank computes its
    // panel's logits right after its last layer, alone: no join before the head, no second
    // wake-up of the threads, and its read of the head goes on from its stream of the layers.
    const MatmulJob head_job{&head_.w, h.data(), m, logits};
    head_done = m > 0 && head_.w.row_panels() && head_.w.panels == num_threads() && head_.bias.empty() &&
                matmul_rows_applies(head_job);
    run_team_spmd(num_threads(), [&](int rank) {
      std::vector<float> own_x = rank == 0 ? std::vector<float>() : x;
      float* my_x = rank == 0 ? x.data() : own_x.data();
      layers(my_x);
      if (!head_done) return;
      std::vector<float> own_h(size_t(m * d));
      final_norm(my_x, own_h.data());
      const MatmulJob job{&head_.w, own_h.data(), m, logits};
      const RowRange rows{head_.w.panel_first_row(rank), head_.w.panel_first_row(rank + 1)};
      matmul_rows(&job, &rows, 1);
      count_decode_split();
    });
  } else {
    layers(x.data());
  }
  if (m > 0 && !head_done) {
    final_norm(x.data(), h.data());
    head_(h.data(), m, logits);
  }
  commit(batch, cache);
}

}  // namespace sputnik
