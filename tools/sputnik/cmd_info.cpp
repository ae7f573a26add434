// `sputnik info -m PATH`: what a checkpoint is and what running it costs.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "formats/loader.h"
#include "models/model.h"

namespace {

std::string human_count(int64_t n) {
  if (n >= 1000000000) return fmt::format("{:.2f}B", double(n) / 1e9);
  if (n >= 1000000) return fmt::format("{:.2f}M", double(n) / 1e6);
  if (n >= 1000) return fmt::format("{:.2f}K", double(n) / 1e3);
  return std::to_string(n);
}

std::string human_bytes(int64_t n) {
  if (n >= (int64_t(1) << 30)) return fmt::format("{:.2f} GiB", double(n) / double(1 << 30));
  if (n >= (int64_t(1) << 20)) return fmt::format("{:.2f} MiB", double(n) / double(1 << 20));
  if (n >= (int64_t(1) << 10)) return fmt::format("{:.2f} KiB", double(n) / double(1 << 10));
  return fmt::format("{} B", n);
}

std::function<int()> setup(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  app.add_option("-m,--model", *path, "model folder, .safetensors or .gguf")->required();
  return [path] {
    using namespace sputnik;
    std::shared_ptr<const WeightStore> weights = load_weights(*path);
    std::unique_ptr<Model> model = load_model(weights);
    const ModelConfig& c = model->config();
    const ModelStats s = model->stats();
    std::printf("model:          %s\n", weights->source.c_str());
    std::printf("architecture:   %s\n", arch_name(c.arch).c_str());
    std::printf("layers:         %lld\n", (long long)c.num_hidden_layers);
    std::printf("hidden:         %lld\n", (long long)c.hidden_size);
    std::printf("heads:          %lld", (long long)c.num_attention_heads);
    if (c.is_deepseek())
      std::printf(" (MLA: q_lora %lld, kv_lora %lld, qk %lld+%lld, v %lld)\n", (long long)c.q_lora_rank,
                  (long long)c.kv_lora_rank, (long long)c.qk_nope_head_dim, (long long)c.qk_rope_head_dim,
                  (long long)c.v_head_dim);
    else
      std::printf(" (kv heads %lld, head dim %lld)\n", (long long)c.num_key_value_heads, (long long)c.head_dim);
    if (c.n_routed_experts > 0)
      std::printf("experts:        %lld routed, top-%lld, %lld shared, first %lld layers dense\n",
                  (long long)c.n_routed_experts, (long long)c.num_experts_per_tok,
                  (long long)c.n_shared_experts, (long long)c.first_k_dense_replace);
    std::printf("vocab:          %lld\n", (long long)c.vocab_size);
    if (c.yarn.enabled)
      std::printf("rope:           theta %g, yarn factor %g (original context %lld)\n", c.rope_theta,
                  c.yarn.factor, (long long)c.yarn.original_max_position_embeddings);
    else
      std::printf("rope:           theta %g\n", c.rope_theta);
    if (model->n_mtp_layers() > 0)
      std::printf("mtp layers:     %lld (%s params)\n", (long long)model->n_mtp_layers(),
                  human_count(s.mtp_params).c_str());
    std::printf("params:         %s total, %s active per token\n", human_count(s.total_params).c_str(),
                human_count(s.active_params).c_str());
    std::printf("weights:        %s\n", human_bytes(s.weight_bytes).c_str());
    std::printf("dtypes:        ");
    for (const auto& [name, d] : s.dtypes)
      std::printf(" %s: %lld tensors, %s;", name.c_str(), (long long)d.tensors, human_bytes(d.bytes).c_str());
    std::printf("\n");
    std::printf("kv cache:       %lld bytes/token (f32)\n", (long long)model->kv_bytes_per_token());
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("info", "describe a model: architecture, parameters, dtypes, memory, KV bytes/token", setup);
