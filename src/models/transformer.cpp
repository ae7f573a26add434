#include "models/transformer.h"

#include <atomic>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "core/team.h"
#include "kernels/matmul.h"
#include "kernels/norm.h"

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
  if (decode_team(n)) {
    run_team_spmd(num_threads(), [&](int rank) {
      if (rank == 0) return layers(x.data());
      std::vector<float> own = x;
      layers(own.data());
    });
  } else {
    layers(x.data());
  }

  // Only the wanted rows go through the (large) output head.
  int64_t m = 0;
  for (int64_t t = 0; t < n; ++t)
    if (batch.want_logits[size_t(t)]) rms_norm(x.data() + t * d, final_norm_.data(), 1, d, eps, h.data() + (m++) * d);
  if (m > 0) head_(h.data(), m, logits);
  commit(batch, cache);
}

}  // namespace sputnik
