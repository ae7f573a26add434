// GGUF checkpoints loaded with decode tiles (LoadOptions::decode_tiles, formats/decode_tiles.h)
// compute what the same files give as stored: a dense prefill (which untiles rows for the GEMM)
// bit for bit, decode and MoE experts that see few tokens (the tile kernels add the same integer
// block sums in another order) to float rounding with the same greedy tokens; and the right
// tensors are tiled.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "formats/gguf_export.h"
#include "formats/loader.h"
#include "models/decode_panels.h"
#include "models/model.h"
#include "tiny_model.h"

using namespace sputnik;

namespace {

struct Logits {
  std::vector<float> prefill;            // logits of 6 prompt tokens in one forward
  std::vector<std::vector<float>> steps;  // logits of 4 decode steps, one token each
};

Logits run(const std::shared_ptr<const WeightStore>& ws) {
  auto m = load_model(ws);
  const int64_t v = m->config().vocab_size;
  KVCache cache = m->make_cache(1, 0);
  Logits r;
  r.prefill.resize(size_t(6 * v));
  Batch b;
  for (int32_t p = 0; p < 6; ++p) b.add((p * 7 + 3) % int32_t(v), 0, p, true);
  m->forward(b, cache, r.prefill.data());
  for (int32_t s = 0; s < 4; ++s) {
    Batch one;
    one.add((s * 11 + 5) % int32_t(v), 0, 6 + s, true);
    r.steps.emplace_back(size_t(v));
    m->forward(one, cache, r.steps.back().data());
  }
  return r;
}

class DecodeTiles : public ::testing::TestWithParam<std::tuple<const char*, DType>> {};

}  // namespace

TEST_P(DecodeTiles, SameLogitsAsTheStoredLayout) {
  const auto [arch, type] = GetParam();
  nlohmann::json config = std::string(arch) == "qwen2" ? test::qwen2_config() : test::deepseek_config();
  // Matrices of at least one tile (16 rows) with rows of whole 32-value blocks; the DeepSeek one
  // has an untied head whose 50 rows end in a row-major tail.
  config["hidden_size"] = 64;
  // qwen2: 64 inner rows per rank of two, so down_proj's column panels are whole blocks.
  config["intermediate_size"] = 128;
  if (std::string(arch) == "deepseek") {
    config["q_lora_rank"] = 32;
    config["kv_lora_rank"] = 32;
    config["moe_intermediate_size"] = 64;  // the shared expert's panels: whole tiles and blocks
    config["tie_word_embeddings"] = false;
    // Per-head W_UK^T [kv_lora, nope] (re-quantized Q8_0) and W_UV [v_head, kv_lora] of whole
    // tiles, which Mla tiles too.
    config["qk_nope_head_dim"] = 32;
    config["v_head_dim"] = 32;
  }
  WeightStore hf;
  test::make_tiny(hf, config, 7);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("sputnik-decode-tiles-" + std::string(arch) + "-" + std::string(dtype_name(type)) + ".gguf"))
                               .string();
  GgufExportOptions opts;
  opts.type = type;
  export_gguf(hf, path, opts);

  std::shared_ptr<const WeightStore> stored = load_weights(path);
  LoadOptions tiled_opts;
  tiled_opts.decode_tiles = true;
  std::shared_ptr<const WeightStore> tiled = load_weights(path, tiled_opts);
  // As the CLI loads for two threads: each rank's share in panels (models/decode_panels.h).
  tiled_opts.panels = [](const WeightStore& s, const std::string& name) { return decode_panels(s, name, 2); };
  std::shared_ptr<const WeightStore> paneled = load_weights(path, tiled_opts);
  std::filesystem::remove(path);
  const bool tiles = active_isa() == Isa::Avx512;
  // Rank-major: every matrix's panel 0 (in decode order) before any panel 1, one stream a rank.
  std::vector<const TensorView*> split;
  for (const auto& name : decode_order(paneled->names())) {
    const TensorView& t = paneled->get(name);
    // Dense MLPs and DeepSeek's shared expert; qwen2's attention; DeepSeek's q_a_proj and o_proj
    // (its q_b_proj's 144 and kv_a's 36 rows make no halves of whole tiles here).
    const bool mlp = name.find(".experts.") == std::string::npos &&
                     (name.ends_with("mlp.gate_proj.weight") || name.ends_with("mlp.up_proj.weight") ||
                      name.ends_with("mlp.down_proj.weight") || name.find("shared_experts.") != std::string::npos);
    const bool qwen2 = std::string(arch) == "qwen2";
    const bool attn = qwen2 ? name.find("self_attn.") != std::string::npos && name.ends_with("_proj.weight")
                            : name.ends_with("self_attn.q_a_proj.weight") || name.ends_with("self_attn.o_proj.weight");
    const bool by_cols = name.ends_with("down_proj.weight") || name.ends_with("self_attn.o_proj.weight");
    const bool want = tiles && (mlp || attn);
    const bool by_rows = !by_cols;
    EXPECT_EQ(t.panels, want ? 2 : 1) << name;
    if (!want) continue;
    EXPECT_EQ(t.panel_axis, by_rows ? TensorView::PanelAxis::Rows : TensorView::PanelAxis::Cols) << name;
    split.push_back(&t);
  }
  EXPECT_EQ(split.size(), !tiles ? 0u : std::string(arch) == "qwen2" ? 7u * 2 : 3u * 2 + 2u * 2);
  for (size_t i = 0; i < split.size(); ++i) {
    const TensorView first = split[i]->panel(0), second = split[i]->panel(1);
    EXPECT_EQ(split[i]->panel_stride, split[0]->panel_stride);
    EXPECT_GE(second.data, split.back()->panel(0).data + split.back()->panel(0).nbytes) << split[i]->name;
    if (i > 0) {
      EXPECT_GE(first.data, split[i - 1]->panel(0).data + split[i - 1]->panel(0).nbytes) << split[i]->name;
    }
  }

  int64_t n_tiled = 0;
  for (const auto& name : tiled->names()) {
    const TensorView& t = tiled->get(name);
    const TensorView& s = stored->get(name);
    EXPECT_EQ(t.nbytes, s.nbytes) << name;
    if (t.layout == Layout::Tiles16) ++n_tiled;
    // Sliced per head (MLA) or only looked up: never tiled.
    if (name.find("kv_b_proj") != std::string::npos || name == "model.embed_tokens.weight") {
      EXPECT_EQ(t.layout == Layout::Tiles16, tiles && name == "model.embed_tokens.weight" && !tiled->contains("lm_head.weight"))
          << name;
    }
  }
  if (tiles) {
    EXPECT_GT(n_tiled, 8);
  } else {
    EXPECT_EQ(n_tiled, 0);
  }
  // Every moved tensor lies in the page regions (what `bench --probe` reads as the weights).
  const auto regions = paneled->page_regions();
  EXPECT_EQ(regions.empty(), !tiles);
  for (const auto& name : paneled->names()) {
    if (!tiles) break;
    const TensorView& t = paneled->get(name);
    const std::byte* end = t.panels > 1 ? t.panel(t.panels - 1).data + t.panel(t.panels - 1).nbytes : t.data + t.nbytes;
    EXPECT_TRUE(std::any_of(regions.begin(), regions.end(), [&](const WeightStore::Region& r) {
      return t.data >= r.data && end <= r.data + r.bytes;
    })) << name;
  }

  const Logits a = run(stored), b = run(tiled);
  if (std::string(arch) == "qwen2") {
    EXPECT_EQ(a.prefill, b.prefill);
  }
  auto close = [](const std::vector<float>& x, const std::vector<float>& y, const std::string& what) {
    float diff = 0, scale = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      diff = std::max(diff, std::fabs(x[i] - y[i]));
      scale = std::max(scale, std::fabs(x[i]));
    }
    EXPECT_LE(diff, 1e-4f * scale) << what;
    EXPECT_EQ(std::max_element(x.begin(), x.end()) - x.begin(), std::max_element(y.begin(), y.end()) - y.begin())
        << what;
  };
  close(a.prefill, b.prefill, "prefill");
  for (size_t s = 0; s < a.steps.size(); ++s) close(a.steps[s], b.steps[s], "step " + std::to_string(s));
  // Panels add their products in another order than whole rows do: the same to float rounding.
  const Logits c = run(paneled);
  close(a.prefill, c.prefill, "prefill, panels");
  for (size_t s = 0; s < a.steps.size(); ++s) close(a.steps[s], c.steps[s], "step " + std::to_string(s) + ", panels");
}

INSTANTIATE_TEST_SUITE_P(Models, DecodeTiles,
                         ::testing::Combine(::testing::Values("qwen2", "deepseek"),
                                            ::testing::Values(DType::Q8_0, DType::Q4_0)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" + std::string(dtype_name(std::get<1>(info.param)));
                         });
