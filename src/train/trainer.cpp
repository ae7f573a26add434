#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/threads.h"
#include "formats/loader.h"
#include "tokenizer/tokenizer.h"
#include "train/distributed.h"
#include "train/grain.h"
#include "train/load_balance.h"
#include "train/loss_curve.h"
#include "train/sft_data.h"
#include "train/token_shard_writer.h"

namespace sputnik::train {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_stop{false};

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot open", path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

// Folder whose tokenizer files a checkpoint should carry (empty: none).
std::string tokenizer_dir_of(const std::string& path) {
  if (fs::is_directory(path)) return path;
  if (fs::path(path).extension() == ".gguf") return "";  // its vocabulary is inside the file
  return fs::path(path).parent_path().string();
}

// After a resume, drop log lines of steps the killed run took past its checkpoint, so the log
// reads as one run.
void truncate_log(const std::string& path, int64_t last_step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      const json j = json::parse(line);
      if (j.value("step", int64_t(0)) > last_step) continue;
    } catch (const json::exception&) {
      continue;  // a line cut short by the kill
    }
    kept += line + "\n";
  }
  in.close();
  write_file_atomic(path, kept);
}

}  // namespace

void request_stop() { g_stop.store(true, std::memory_order_relaxed); }

Trainer::Trainer(TrainerOptions options) : o_(std::move(options)) {
  Distributed& dist = Distributed::instance();
  std::string resume_dir, source, model_source;
  std::unique_ptr<WeightStore> ws;
  if (!o_.model_config.empty() && !o_.init.empty())
    fail("give --model-config (train from scratch) or --init (continue a checkpoint), not both");
  if (!o_.resume.empty()) {
    resume_dir = find_resume_dir(o_.resume);
    ws = load_weights(resume_dir);
    config_json_ = ws->config;
    tokenizer_dir_ = resume_dir;
    source = model_source = resume_dir;
  } else if (!o_.init.empty()) {
    ws = load_weights(o_.init);
    config_json_ = ws->config;
    tokenizer_dir_ = tokenizer_dir_of(o_.init);
    source = model_source = o_.init;
  } else if (!o_.model_config.empty()) {
    config_json_ = read_json_file(o_.model_config);
    tokenizer_dir_ = fs::path(o_.model_config).parent_path().string();
    source = o_.model_config;
    model_source = tokenizer_dir_.empty() ? "." : tokenizer_dir_;
  } else {
    fail("sputnik train needs --model-config CONFIG.json (from scratch), --init PATH or --resume DIR");
  }
  if (!o_.tokenizer.empty()) tokenizer_dir_ = tokenizer_dir_of(o_.tokenizer);
  const ModelConfig mc = parse_model_config(config_json_, source);
  config_json_ = checkpoint_config(mc, config_json_);
  TrainOptions compute;
  compute.bf16 = o_.bf16;
  compute.seq_aux_alpha = o_.seq_aux_alpha;
  if (o_.seq_aux_alpha < 0) fail("--seq-aux-alpha must be >= 0 (got {})", o_.seq_aux_alpha);
  model_ = std::make_unique<TrainModel>(mc, compute);
  if (ws) {
    model_->load(*ws);
    ws.reset();
  } else {
    const float std = o_.init_std >= 0 ? o_.init_std : config_json_.value("initializer_range", 0.02f);
    model_->init_random(o_.seed, std);
  }
  if (o_.mtp_weight < 0) o_.mtp_weight = model_->has_mtp() ? 0.3f : 0.0f;
  if (o_.mtp_weight > 0 && !model_->has_mtp())
    fail("--mtp-weight {} needs a model with an MTP module (num_nextn_predict_layers >= 1)", o_.mtp_weight);
  if (o_.bias_update_speed < 0) fail("--bias-update-speed must be >= 0 (got {})", o_.bias_update_speed);
  if (o_.data.empty() && o_.sft.empty()) fail("--data (comma-separated .bin token shards) or --sft FILE.jsonl is required");
  if (o_.batch < 1 || o_.accum < 1) fail("--batch and --accum must be at least 1");
  if (o_.batch % dist.size() != 0)
    fail("--batch {} must be a multiple of the {} ranks (each rank takes batch / ranks rows)", o_.batch, dist.size());
  if (o_.mtp_weight > 0 && o_.seq < 2) fail("--seq must be at least 2 for the MTP loss");

  if (dist.is_root()) {
    std::error_code ec;
    fs::create_directories(o_.out, ec);
    if (ec) fail("--out {}: cannot create the folder: {}", o_.out, ec.message());
  }
  std::vector<std::string> shards;
  if (!o_.data.empty()) shards = split_data_paths(o_.data);
  if (!o_.sft.empty()) shards.push_back(prepare_sft_shard(model_source));
  data_ = std::make_unique<Dataset>(shards, mc.vocab_size, o_.seq, o_.val_fraction, o_.seed);
  schedule_ = {o_.schedule, o_.lr, o_.min_lr < 0 ? o_.lr / 10 : o_.min_lr, o_.warmup, o_.steps, o_.decay_frac};
  schedule_.validate();
  adam_ = std::make_unique<AdamW>(model_->params(), model_->data().size(), o_.adam);
  state_.seed = o_.seed;
  state_.settings = settings();
  if (!resume_dir.empty()) {
    const json want = state_.settings;
    state_ = load_trainer_state(resume_dir, *adam_, model_->data().size());
    for (const auto& [key, value] : want.items())
      if (state_.settings.value(key, json()) != value)
        fail("--resume {}: {} was {} in that run but is {} now; an exact resume needs the same value", resume_dir, key,
             state_.settings.value(key, json()).dump(), value.dump());
    data_->set_position(state_.data_position);
  }
  if (dist.size() > 1) dist.broadcast(model_->data().data(), model_->data().size() * sizeof(float));
  acc_.assign(model_->data().size(), 0.0f);

  if (dist.is_root()) {
    const std::string log_path = o_.log.empty() ? (fs::path(o_.out) / "log.jsonl").string() : o_.log;
    if (!resume_dir.empty()) truncate_log(log_path, state_.step);
    log_ = std::make_unique<JsonlLog>(log_path, !resume_dir.empty());
    if (o_.progress) bar_ = std::make_unique<ProgressBar>();
  }
}

Trainer::~Trainer() = default;

json Trainer::settings() const {
  // Everything that decides which windows a step sees; the rest (lr, steps, ...) may change.
  return {{"seq", o_.seq},
          {"global_batch", o_.batch * o_.accum},
          {"seed", o_.seed},
          {"val_fraction", o_.val_fraction},
          {"data_tokens", data_->num_tokens()}};
}

StepRecord Trainer::train_step() {
  Distributed& dist = Distributed::instance();
  StepRecord r;
  r.lr = schedule_.lr(state_.step);
  const auto t0 = Clock::now();
  const std::vector<MicroBatch> micro = data_->next_step(o_.batch, o_.accum, dist.rank(), dist.size());
  const std::vector<int64_t> moe = moe_layer_ids(model_->config());
  const int64_t E = model_->config().n_routed_experts;
  // [target count, Σ n·loss, Σ n·main loss, Σ n·mtp loss, Σ n·balance loss, expert loads...],
  // summed over ranks.
  constexpr size_t kLoads = 5;
  std::vector<double> sums(kLoads + moe.size() * size_t(E), 0.0);
  std::fill(acc_.begin(), acc_.end(), 0.0f);
  for (const MicroBatch& mb : micro) {
    const int64_t n = mb.num_targets();
    if (n == 0) continue;  // every target masked: nothing to learn from these rows
    model_->zero_grad();
    const float loss = model_->forward_backward(mb.tokens.data(), mb.targets.data(), mb.rows, mb.seq, o_.mtp_weight);
    const float w = float(n);
    const float* g = model_->grads().data();
    float* acc = acc_.data();
    parallel_for(int64_t(acc_.size()), kMinWorkPerChunk, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) acc[i] += w * g[i];
    });
    sums[0] += double(n);
    sums[1] += double(n) * loss;
    sums[2] += double(n) * model_->last_main_loss();
    sums[3] += double(n) * model_->last_mtp_loss();
    sums[4] += double(n) * model_->last_balance_loss();
    const auto load = model_->expert_load();
    for (size_t k = 0; k < load.size() && k < moe.size(); ++k)
      for (int64_t e = 0; e < E && e < int64_t(load[k].size()); ++e) sums[kLoads + k * size_t(E) + size_t(e)] += double(load[k][size_t(e)]);
  }
  dist.allreduce_sum(sums.data(), sums.size());
  const double N = sums[0];
  std::vector<std::vector<double>> loads(moe.size(), std::vector<double>(size_t(E)));
  for (size_t k = 0; k < moe.size(); ++k)
    for (int64_t e = 0; e < E; ++e) loads[k][size_t(e)] = sums[kLoads + k * size_t(E) + size_t(e)];
  if (N > 0) {
    r.loss = sums[1] / N, r.main_loss = sums[2] / N, r.mtp_loss = sums[3] / N, r.balance_loss = sums[4] / N;
    if (!std::isfinite(r.loss))
      fail("training diverged: the loss is {} at step {}; try a lower --lr or a tighter --clip", r.loss,
           state_.step + 1);
    dist.allreduce_mean(acc_.data(), acc_.size());
    const float scale = float(double(dist.size()) / N);
    float* g = model_->grads().data();
    const float* acc = acc_.data();
    parallel_for(int64_t(acc_.size()), kMinWorkPerChunk, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) g[i] = acc[i] * scale;
    });
    r.grad_norm = clip_grad_norm(model_->params(), g, o_.clip);
    adam_->step(model_->data().data(), g, float(r.lr));
    update_router_bias(*model_, loads, o_.bias_update_speed);
  } else {
    r.loss = r.main_loss = r.mtp_loss = NAN;  // no target in the whole global batch: no update
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const double tokens = double(o_.batch * o_.accum * o_.seq);
  r.tokens_per_s = secs > 0 ? tokens / secs : 0;
  state_.step += 1;
  state_.data_position = data_->position();
  state_.tokens_seen += tokens;
  state_.elapsed_s += secs;
  r.step = state_.step;

  if (log_) {
    json j = {{"step", r.step},           {"loss", r.loss},         {"lr", r.lr},
              {"grad_norm", r.grad_norm}, {"tokens_per_s", r.tokens_per_s}, {"tokens", state_.tokens_seen},
              {"step_s", secs},           {"epoch", data_->epoch()}};
    if (o_.mtp_weight > 0 || o_.seq_aux_alpha > 0) j["main_loss"] = r.main_loss;
    if (o_.mtp_weight > 0) j["mtp_loss"] = r.mtp_loss;
    if (!moe.empty()) j["balance_loss"] = r.balance_loss;
    if (!moe.empty()) j["expert_load"] = expert_load_stats(model_->config(), loads);
    last_record_ = std::move(j);
  }
  return r;
}

std::string Trainer::prepare_sft_shard(const std::string& model_source) {
  // Rendered once per run into OUT/sft.bin (+ .idx/.mask) by rank 0, then read like any shard.
  Distributed& dist = Distributed::instance();
  const std::string path = (fs::path(o_.out) / "sft.bin").string();
  if (dist.is_root()) {
    const std::string tok_path = o_.tokenizer.empty() ? model_source : o_.tokenizer;
    const Tokenizer tokenizer = load_tokenizer(tok_path);
    const ChatTemplate tpl = load_sft_template(tok_path, tokenizer, o_.chat_template);
    TokenShardWriter w(path, true);
    for (const std::string& file : split_data_paths(o_.sft)) {
      const SftDataset part = load_sft_jsonl(file, tpl, tokenizer);
      for (size_t d = 0; d < part.n_docs(); ++d) {
        const size_t lo = part.offsets[d], hi = part.offsets[d + 1];
        w.add_document(std::span<const uint32_t>(part.tokens.data() + lo, hi - lo),
                       std::span<const uint8_t>(part.mask.data() + lo, hi - lo));
      }
    }
    if (w.n_tokens() == 0) fail("--sft {}: no examples", o_.sft);
    w.finish({{"source", o_.sft}, {"tokenizer", tok_path}});
  }
  dist.barrier();
  return path;
}

double Trainer::evaluate() {
  Distributed& dist = Distributed::instance();
  double sums[2] = {0, 0};
  for (const MicroBatch& mb : data_->val_batches(o_.batch, o_.eval_windows, dist.rank(), dist.size())) {
    const int64_t n = mb.num_targets();
    if (n == 0) continue;
    const float loss = model_->forward(mb.tokens.data(), mb.targets.data(), mb.rows, mb.seq, 0.0f);
    sums[0] += double(n), sums[1] += double(n) * loss;
  }
  dist.allreduce_sum(sums, 2);
  return sums[0] > 0 ? sums[1] / sums[0] : NAN;
}

void Trainer::save(const std::string& dir) {
  if (!Distributed::instance().is_root()) return;
  save_checkpoint(dir, *model_, config_json_, tokenizer_dir_, *adam_, state_);
}

void Trainer::refresh_curve() {
  if (!Distributed::instance().is_root()) return;
  const std::string title = fmt::format("{} · {} steps · {}", config_json_.value("model_type", std::string("model")),
                                        state_.step, fs::path(o_.out).filename().string());
  write_loss_svg((fs::path(o_.out) / "loss.svg").string(), state_.train_curve, state_.eval_curve, title);
}

void Trainer::run() {
  int64_t done_here = 0;
  double time_here = 0;
  while (state_.step < o_.steps) {
    if (o_.stop_after > 0 && done_here >= o_.stop_after) {
      if (bar_) bar_->finish();
      return;  // as if the process had been killed here: no final checkpoint
    }
    StepRecord r = train_step();
    ++done_here;
    time_here += o_.batch * o_.accum * o_.seq / std::max(r.tokens_per_s, 1e-9);
    const bool last = state_.step == o_.steps;
    const bool eval_now = data_->num_val_windows() > 0 && ((o_.eval_every > 0 && state_.step % o_.eval_every == 0) || last);
    if (eval_now) {
      r.eval_loss = evaluate();
      state_.eval_curve.push_back({state_.step, r.eval_loss});
      last_record_["eval_loss"] = r.eval_loss;
    }
    state_.train_curve.push_back({state_.step, r.loss});
    history_.push_back(r);
    if (log_) log_->write(last_record_);
    if (bar_) {
      const double per_step = time_here / double(done_here);
      bar_->update({state_.step, o_.steps, r.loss, r.lr, r.tokens_per_s, per_step * double(o_.steps - state_.step),
                    eval_now ? r.eval_loss : -1});
    }
    if (last || eval_now || (o_.curve_every > 0 && state_.step % o_.curve_every == 0)) refresh_curve();
    const bool saved = o_.save_every > 0 && state_.step % o_.save_every == 0 && !last;
    if (saved) save((fs::path(o_.out) / fmt::format("step-{}", state_.step)).string());
    // Every rank must agree to stop at the same step (a signal may reach them at different times).
    double stop = g_stop.load(std::memory_order_relaxed) ? 1 : 0;
    Distributed::instance().allreduce_sum(&stop, 1);
    if (stop > 0 && !last) {
      if (bar_) bar_->finish();
      const std::string dir = (fs::path(o_.out) / fmt::format("step-{}", state_.step)).string();
      if (!saved) save(dir);
      if (Distributed::instance().is_root())
        std::fprintf(stderr, "train: stopped at step %lld; checkpoint %s (continue with --resume %s)\n",
                     (long long)state_.step, dir.c_str(), o_.out.c_str());
      return;
    }
  }
  if (bar_) bar_->finish();
  save((fs::path(o_.out) / "final").string());
}

}  // namespace sputnik::train
