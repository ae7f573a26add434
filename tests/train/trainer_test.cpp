// The training loop end to end on tiny generated models: the loss falls, a killed-and-resumed
// run reproduces the uninterrupted one bit for bit, accumulation equals a big batch, the
// DeepSeek-V3 bias update evens expert load, and the feedback files are written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>

#include "core/error.h"
#include "formats/loader.h"
#include "shard_util.h"
#include "train/load_balance.h"
#include "train/loss_curve.h"
#include "train/train_log.h"
#include "train/trainer.h"

namespace sputnik::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct RunSetup {
  std::string dir, data;
  TrainerOptions opt;
};

RunSetup make_run(const std::string& name, const json& config) {
  RunSetup r;
  r.dir = testing::temp_dir(name);
  r.data = testing::write_shard(r.dir + "/corpus", testing::repetitive_corpus(6000, 32));
  r.opt.model_config = testing::write_config(r.dir, config);
  r.opt.data = r.data;
  r.opt.out = r.dir + "/out";
  r.opt.steps = 40, r.opt.batch = 4, r.opt.seq = 16;
  r.opt.lr = 1e-2, r.opt.warmup = 4, r.opt.min_lr = 1e-3;
  r.opt.seed = 5, r.opt.progress = false, r.opt.eval_every = 10, r.opt.eval_windows = 32;
  return r;
}

double mean_loss(const std::vector<StepRecord>& h, size_t first, size_t count) {
  double s = 0;
  for (size_t i = first; i < first + count; ++i) s += h[i].loss;
  return s / double(count);
}

std::vector<json> read_log(const std::string& path) {
  std::vector<json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) out.push_back(json::parse(line));
  return out;
}

TEST(Trainer, Qwen2LossFallsAndFeedbackIsWritten) {
  RunSetup r = make_run("trainer_qwen2", testing::tiny_qwen2_config());
  Trainer t(r.opt);
  const double initial_eval = t.evaluate();
  t.run();
  const auto& h = t.history();
  ASSERT_EQ(h.size(), 40u);
  EXPECT_NEAR(initial_eval, std::log(32.0), 0.3);  // an untrained model is near uniform
  EXPECT_LT(mean_loss(h, 35, 5), 0.6 * mean_loss(h, 0, 5));
  EXPECT_LT(h.back().eval_loss, 0.6 * initial_eval);

  const auto log = read_log(r.opt.out + "/log.jsonl");
  ASSERT_EQ(log.size(), 40u);
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].at("step"), int64_t(i + 1));
    for (const char* k : {"loss", "lr", "tokens_per_s", "grad_norm"}) EXPECT_TRUE(log[i].at(k).is_number()) << k;
    EXPECT_EQ(log[i].contains("eval_loss"), (i + 1) % 10 == 0) << i;
  }
  EXPECT_DOUBLE_EQ(log[0].at("lr").get<double>(), 1e-2 / 4);
  EXPECT_DOUBLE_EQ(log[0].at("loss").get<double>(), h[0].loss);

  std::ifstream svg_in(r.opt.out + "/loss.svg");
  const std::string svg((std::istreambuf_iterator<char>(svg_in)), std::istreambuf_iterator<char>());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex("class=\"train\"[^>]*points=\"([^\"]*)\"")));
  const std::string pts = m[1];
  EXPECT_EQ(std::count(pts.begin(), pts.end(), ','), 40);
  EXPECT_NE(svg.find("class=\"eval\""), std::string::npos);
  EXPECT_GE(std::count(svg.begin(), svg.end(), '\n'), 10);

  // The final checkpoint is an HF folder the inference loader opens.
  EXPECT_TRUE(fs::exists(r.opt.out + "/final/trainer_state.json"));
  EXPECT_NO_THROW(load_weights(r.opt.out + "/final"));

  // --init continues from it: same weights, so the same held-out loss, bit for bit.
  TrainerOptions next = r.opt;
  next.model_config.clear();
  next.init = r.opt.out + "/final";
  next.out = r.dir + "/continued";
  Trainer t2(next);
  EXPECT_EQ(t2.evaluate(), h.back().eval_loss);
  EXPECT_EQ(t2.step(), 0);
}

TEST(Trainer, Bf16ComputeLearnsToo) {
  RunSetup r = make_run("trainer_bf16", testing::tiny_qwen2_config());
  r.opt.steps = 25, r.opt.eval_every = 0, r.opt.bf16 = true;
  Trainer t(r.opt);
  EXPECT_TRUE(t.model().options().bf16);
  t.run();
  EXPECT_LT(mean_loss(t.history(), 20, 5), 0.7 * mean_loss(t.history(), 0, 5));
}

TEST(Trainer, DeepSeekV3MoeWithMtpLearnsAndLogsExpertLoad) {
  RunSetup r = make_run("trainer_v3", testing::tiny_v3_config(true));
  r.opt.mtp_weight = 0.3f;
  r.opt.bias_update_speed = 1e-3f;
  Trainer t(r.opt);
  t.run();
  const auto& h = t.history();
  ASSERT_EQ(h.size(), 40u);
  EXPECT_LT(mean_loss(h, 35, 5), 0.6 * mean_loss(h, 0, 5));
  for (const StepRecord& s : h) EXPECT_NEAR(s.loss, s.main_loss + 0.3 * s.mtp_loss, 1e-4 * s.loss);
  EXPECT_LT(h.back().mtp_loss, h.front().mtp_loss);
  const auto log = read_log(r.opt.out + "/log.jsonl");
  ASSERT_EQ(log.size(), 40u);
  const json& load = log.back().at("expert_load");
  ASSERT_EQ(load.size(), 1u);
  EXPECT_EQ(load[0].at("layer"), 1);
  EXPECT_GE(load[0].at("max").get<double>(), 1.0);
  EXPECT_LE(load[0].at("min").get<double>(), 1.0);
  EXPECT_TRUE(log.back().at("mtp_loss").is_number());
  // The bias moved (by whole multiples of γ) and is in the checkpoint.
  auto w = load_weights(r.opt.out + "/final");
  const TensorView& b = w->get("model.layers.1.mlp.gate.e_score_correction_bias");
  const float* bias = reinterpret_cast<const float*>(b.data);
  double moved = 0;
  for (int e = 0; e < 4; ++e) {
    moved += std::abs(bias[e]);
    const double k = bias[e] / 1e-3;
    EXPECT_NEAR(k, std::round(k), 1e-2) << e;
  }
  EXPECT_GT(moved, 0);
}

TEST(Trainer, KilledAndResumedRunReproducesLossesBitForBit) {
  RunSetup r = make_run("trainer_resume", testing::tiny_v3_config(true));
  r.opt.steps = 14, r.opt.accum = 2, r.opt.batch = 2, r.opt.eval_every = 5, r.opt.save_every = 6;
  r.opt.mtp_weight = 0.3f, r.opt.bias_update_speed = 0.01f, r.opt.schedule = ScheduleKind::Wsd;
  TrainerOptions full = r.opt;
  full.out = r.dir + "/full";
  Trainer a(full);
  a.run();

  TrainerOptions killed = r.opt;
  killed.out = r.dir + "/killed";
  killed.stop_after = 9;  // dies 3 steps after its step-6 checkpoint
  {
    Trainer b(killed);
    b.run();
    EXPECT_EQ(b.step(), 9);
  }
  EXPECT_TRUE(fs::exists(killed.out + "/step-6"));
  EXPECT_FALSE(fs::exists(killed.out + "/final"));
  TrainerOptions resumed = killed;
  resumed.stop_after = 0;
  resumed.resume = killed.out;  // the run folder: its latest checkpoint is taken
  Trainer c(resumed);
  EXPECT_EQ(c.step(), 6);
  c.run();
  ASSERT_EQ(c.history().size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    const StepRecord &x = a.history()[6 + i], &y = c.history()[i];
    EXPECT_EQ(y.step, x.step);
    EXPECT_EQ(y.loss, x.loss) << "step " << x.step;  // bitwise
    EXPECT_EQ(y.grad_norm, x.grad_norm) << "step " << x.step;
    EXPECT_EQ(y.lr, x.lr);
    if (x.eval_loss >= 0) {
      EXPECT_EQ(y.eval_loss, x.eval_loss);
    }
  }
  EXPECT_EQ(c.model().data(), a.model().data());
  // The resumed log reads as one run: steps 1..14 once each (the killed run's 7..9 dropped).
  const auto log = read_log(killed.out + "/log.jsonl");
  ASSERT_EQ(log.size(), 14u);
  for (size_t i = 0; i < 14; ++i) EXPECT_EQ(log[i].at("step"), int64_t(i + 1));

  TrainerOptions other = resumed;
  other.seq = 8;  // different windows: not the same run
  EXPECT_THROW(Trainer{other}, Error);
}

TEST(Trainer, AccumulationEqualsOneBigBatch) {
  RunSetup r = make_run("trainer_accum", testing::tiny_qwen2_config());
  r.opt.steps = 6, r.opt.eval_every = 0, r.opt.val_fraction = 0;
  TrainerOptions big = r.opt, acc = r.opt;
  big.batch = 4, big.accum = 1, big.out = r.dir + "/big";
  acc.batch = 2, acc.accum = 2, acc.out = r.dir + "/acc";
  Trainer a(big), b(acc);
  a.run();
  b.run();
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(b.history()[i].loss, a.history()[i].loss, 1e-5 * a.history()[i].loss) << i;
    EXPECT_NEAR(b.history()[i].grad_norm, a.history()[i].grad_norm, 1e-4 * a.history()[i].grad_norm) << i;
  }
}

double load_spread(const std::vector<int64_t>& load) {
  const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
  return double(*hi - *lo);
}

TEST(LoadBalance, BiasMovesAgainstLoadAndEvensIt) {
  const json cj = testing::tiny_v3_config(false);
  TrainModel m(parse_model_config(cj, "v3"));
  m.init_random(21, 0.3f);
  const std::vector<uint32_t> corpus = testing::repetitive_corpus(8 * 16 + 1, 32, 3);
  std::vector<int32_t> tok(corpus.begin(), corpus.end() - 1), tgt(corpus.begin() + 1, corpus.end());
  m.forward(tok.data(), tgt.data(), 8, 16);
  const std::vector<int64_t> before = m.expert_load().at(0);
  ASSERT_EQ(std::accumulate(before.begin(), before.end(), int64_t(0)), 8 * 16 * 2);  // top-2 of 128 tokens
  ASSERT_GT(load_spread(before), 0);
  const std::string name = "model.layers.1.mlp.gate.e_score_correction_bias";
  const std::vector<float> b0(m.data(name), m.data(name) + 4);
  std::vector<double> loads(before.begin(), before.end());
  update_router_bias(m, {loads}, 0.0f);
  EXPECT_EQ(std::vector<float>(m.data(name), m.data(name) + 4), b0);  // γ = 0 disables
  const float gamma = 0.02f;
  double spread = load_spread(before);
  for (int round = 0; round < 5; ++round) {
    const std::vector<int64_t> now = m.expert_load().at(0);
    const double mean = 8 * 16 * 2 / 4.0;
    const std::vector<float> prev(m.data(name), m.data(name) + 4);
    update_router_bias(m, {std::vector<double>(now.begin(), now.end())}, gamma);
    for (int e = 0; e < 4; ++e) {
      const float d = m.data(name)[e] - prev[size_t(e)];
      if (now[size_t(e)] > mean) EXPECT_FLOAT_EQ(d, -gamma) << e;
      else if (now[size_t(e)] < mean) EXPECT_FLOAT_EQ(d, gamma) << e;
      else EXPECT_EQ(d, 0.0f) << e;
    }
    m.forward(tok.data(), tgt.data(), 8, 16);
    spread = load_spread(m.expert_load().at(0));
  }
  EXPECT_LT(spread, load_spread(before)) << "five bias updates did not even out the expert load";
  const json stats = expert_load_stats(m.config(), {loads});
  EXPECT_NEAR(stats[0].at("max").get<double>(), double(*std::max_element(before.begin(), before.end())) / 64.0, 1e-12);
}

TEST(Feedback, TicksAndProgressLine) {
  const std::vector<double> t = nice_ticks(0.37, 4.1, 6);
  ASSERT_EQ(t.size(), 4u);  // 1 2 3 4: the smallest 1/2/5 step that gives at most ~6 ticks
  EXPECT_DOUBLE_EQ(t[0], 1.0);
  EXPECT_DOUBLE_EQ(t[1] - t[0], 1.0);
  EXPECT_GE(t.front(), 0.37);
  EXPECT_LE(t.back(), 4.1);
  const std::vector<double> s = nice_ticks(1, 1000, 8);
  EXPECT_DOUBLE_EQ(s[1] - s[0], 200);
  const std::string line = ProgressBar::format_line({25, 100, 2.3456, 3e-4, 1234.4, 75, -1}, true);
  EXPECT_NE(line.find("step 25/100"), std::string::npos) << line;
  EXPECT_NE(line.find("loss 2.3456"), std::string::npos) << line;
  EXPECT_NE(line.find("1234 tok/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 1m15s"), std::string::npos) << line;
  EXPECT_NE(line.find("[######.................."), std::string::npos) << line;
  EXPECT_EQ(format_duration(3725), "1h02m");
}

TEST(Trainer, RejectsBadOptions) {
  RunSetup r = make_run("trainer_bad", testing::tiny_qwen2_config());
  TrainerOptions o = r.opt;
  o.mtp_weight = 0.5f;  // Qwen2 has no MTP module
  EXPECT_THROW(Trainer{o}, Error);
  o = r.opt;
  o.model_config.clear();
  EXPECT_THROW(Trainer{o}, Error);
  o = r.opt;
  o.lr = -1;
  EXPECT_THROW(Trainer{o}, Error);
  o = r.opt;
  o.data = r.dir + "/none.bin";
  EXPECT_THROW(Trainer{o}, Error);
  o = r.opt;
  json small = testing::tiny_qwen2_config();
  small["vocab_size"] = 16;  // the corpus has ids up to 30
  o.model_config = testing::write_config(testing::temp_dir("trainer_bad_vocab"), small);
  EXPECT_THROW(Trainer{o}, Error);
}

}  // namespace
}  // namespace sputnik::train
