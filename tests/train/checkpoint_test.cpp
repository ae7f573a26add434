// Checkpoints: the HF folder a run writes loads in the inference engine (models/) and gives the
// same next-token loss as TrainModel's own forward; trainer state round-trips exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/loader.h"
#include "kernels/matmul.h"
#include "models/model.h"
#include "shard_util.h"
#include "train/checkpoint.h"
#include "train/load_balance.h"
#include "train/model.h"

namespace sputnik::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Mean next-token cross-entropy of `tokens` computed from the inference engine's logits (f64).
double inference_loss(const std::string& dir, const std::vector<int32_t>& tokens) {
  set_matmul_exact(true);
  std::shared_ptr<const WeightStore> w = load_weights(dir);
  std::unique_ptr<Model> m = load_model(w);
  const int64_t n = int64_t(tokens.size()), V = m->config().vocab_size;
  KVCache cache = m->make_cache(1, n);
  Batch b;
  for (int64_t p = 0; p < n; ++p) b.add(tokens[size_t(p)], 0, p, true);
  std::vector<float> logits(size_t(n * V));
  m->forward(b, cache, logits.data());
  double total = 0;
  for (int64_t p = 0; p + 1 < n; ++p) {
    const float* l = logits.data() + p * V;
    double mx = l[0], sum = 0;
    for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(l[v]));
    for (int64_t v = 0; v < V; ++v) sum += std::exp(double(l[v]) - mx);
    total += mx + std::log(sum) - l[tokens[size_t(p + 1)]];
  }
  return total / double(n - 1);
}

void check_inference_matches(const json& cfg_json, const std::string& name) {
  const ModelConfig cfg = parse_model_config(cfg_json, name);
  TrainModel m(cfg);
  m.init_random(11, 0.2f);
  // Move the routing bias off zero so the inference side must read it to route the same way.
  for (int64_t l : moe_layer_ids(cfg)) {
    float* b = m.data("model.layers." + std::to_string(l) + ".mlp.gate.e_score_correction_bias");
    for (int64_t e = 0; e < cfg.n_routed_experts; ++e) b[e] = 0.05f * float(e % 3) - 0.04f;
  }
  const std::string dir = testing::temp_dir("ckpt_" + name) + "/final";
  save_model_folder(dir, m, checkpoint_config(cfg, cfg_json), "");
  ASSERT_TRUE(fs::exists(dir + "/config.json"));
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors"));
  const std::vector<int32_t> tokens = {1, 5, 9, 13, 2, 30, 7, 7, 21, 0, 3, 17};
  std::vector<int32_t> in(tokens.begin(), tokens.end() - 1), tgt(tokens.begin() + 1, tokens.end());
  const double train_loss = m.forward(in.data(), tgt.data(), 1, int64_t(in.size()));
  const double infer_loss = inference_loss(dir, tokens);
  EXPECT_GT(train_loss, 1.0);
  EXPECT_NEAR(infer_loss, train_loss, 1e-4 * train_loss) << name;

  std::ifstream f(dir + "/config.json");
  const json written = json::parse(f);
  EXPECT_EQ(written.at("model_type"), cfg_json.at("model_type"));
  EXPECT_TRUE(written.at("architectures").is_array());
}

TEST(Checkpoint, Qwen2FolderLoadsInTheInferenceEngine) { check_inference_matches(testing::tiny_qwen2_config(), "qwen2"); }

TEST(Checkpoint, DeepSeekV3FolderWithMtpAndBiasLoadsInTheInferenceEngine) {
  check_inference_matches(testing::tiny_v3_config(true), "v3");
}

TEST(Checkpoint, ArchitecturesFilledIn) {
  const json c = checkpoint_config(parse_model_config(testing::tiny_v3_config(), "x"), testing::tiny_v3_config());
  EXPECT_EQ(c.at("architectures"), json::array({"DeepseekV3ForCausalLM"}));
  EXPECT_EQ(c.at("torch_dtype"), "float32");
  json given = testing::tiny_qwen2_config();
  given["architectures"] = {"Qwen2ForCausalLM"};
  EXPECT_EQ(checkpoint_config(parse_model_config(given, "q"), given).at("architectures"), given.at("architectures"));
}

TEST(Checkpoint, TrainerStateRoundTripsAndResumeFindsTheLatestStep) {
  const json cj = testing::tiny_qwen2_config();
  const ModelConfig cfg = parse_model_config(cj, "q");
  TrainModel m(cfg);
  m.init_random(3);
  AdamW adam(m.params(), m.data().size(), {});
  for (size_t i = 0; i < adam.m().size(); ++i) adam.m()[i] = float(i) * 1e-3f, adam.v()[i] = 1.0f / float(i + 1);
  adam.set_steps(17);
  TrainerState st;
  st.step = 17, st.data_position = 1234, st.seed = 99, st.tokens_seen = 5e5;
  st.settings = {{"seq", 16}};
  st.train_curve = {{1, 3.5}, {2, NAN}, {17, 2.25}};
  st.eval_curve = {{17, 2.5}};
  const std::string run = testing::temp_dir("ckpt_state");
  save_checkpoint(run + "/step-9", m, cj, "", adam, st);
  save_checkpoint(run + "/step-17", m, cj, "", adam, st);
  fs::create_directories(run + "/step-99");  // no state: not a checkpoint
  EXPECT_EQ(fs::path(find_resume_dir(run)).filename(), "step-17");
  EXPECT_EQ(find_resume_dir(run + "/step-9"), run + "/step-9");
  EXPECT_THROW(find_resume_dir(run + "/nope"), Error);

  AdamW back(m.params(), m.data().size(), {});
  const TrainerState r = load_trainer_state(run + "/step-17", back, m.data().size());
  EXPECT_EQ(back.m(), adam.m());
  EXPECT_EQ(back.v(), adam.v());
  EXPECT_EQ(back.steps(), 17);
  EXPECT_EQ(r.step, 17);
  EXPECT_EQ(r.data_position, 1234);
  EXPECT_EQ(r.seed, 99u);
  EXPECT_EQ(r.settings, st.settings);
  ASSERT_EQ(r.train_curve.size(), 3u);
  EXPECT_TRUE(std::isnan(r.train_curve[1].loss));
  EXPECT_EQ(r.train_curve[2].loss, 2.25);
  EXPECT_EQ(r.eval_curve[0].step, 17);

  // The weights in the checkpoint are the model's, bit for bit.
  TrainModel loaded(cfg);
  loaded.load(*load_weights(run + "/step-17"));
  EXPECT_EQ(loaded.data(), m.data());

  AdamW wrong_size(m.params(), m.data().size() + 1, {});
  EXPECT_THROW(load_trainer_state(run + "/step-17", wrong_size, m.data().size() + 1), Error);
}

TEST(Checkpoint, CopiesTokenizerFiles) {
  const std::string src = testing::temp_dir("ckpt_tok_src");
  std::ofstream(src + "/tokenizer.json") << "{\"tok\": 1}";
  std::ofstream(src + "/tokenizer_config.json") << "{}";
  const json cj = testing::tiny_qwen2_config();
  TrainModel m(parse_model_config(cj, "q"));
  m.init_random(1);
  const std::string dir = testing::temp_dir("ckpt_tok") + "/final";
  save_model_folder(dir, m, cj, src);
  EXPECT_TRUE(fs::exists(dir + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(dir + "/tokenizer_config.json"));
  EXPECT_FALSE(fs::exists(dir + ".tmp"));
}

}  // namespace
}  // namespace sputnik::train
