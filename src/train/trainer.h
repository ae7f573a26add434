#pragma once
// The training loop behind `sputnik train`: model from a config (seeded init) or a checkpoint,
// token shards through the Dataset, gradient accumulation and data-parallel averaging, AdamW
// with clipping and a learning-rate schedule, DeepSeek-V3 bias load balancing, evaluation,
// checkpoints that resume bit for bit, and the feedback (progress bar, JSONL log, loss.svg).
//
// One optimizer step: the global batch (batch × accum windows) is split into accum micro-batches
// and across ranks; the gradient is the mean over every target token in the global batch
// (micro-batch gradients weighted by their target counts), so accumulation, data parallelism and
// masked (SFT) targets all give the gradient of one big batch.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/model.h"
#include "train/schedule.h"
#include "train/train_log.h"

namespace sputnik::train {

struct TrainerOptions {
  std::string model_config;  // HF config.json: train from scratch
  std::string init;          // checkpoint (HF folder, .safetensors, .gguf) to continue from
  std::string resume;        // checkpoint folder (or a run's --out folder) to resume exactly
  std::string data;          // comma-separated .bin token shards
  std::string sft;           // chat JSONL ({"messages": [...]}): rendered, loss on assistant tokens only
  std::string tokenizer;     // tokenizer + chat template for --sft (default: the model's folder)
  std::string chat_template; // a .jinja file overriding the model's template for --sft
  std::string out = "out";   // checkpoints, log.jsonl, loss.svg
  std::string log;           // default OUT/log.jsonl
  int64_t steps = 100, batch = 8, seq = 256, accum = 1;
  ScheduleKind schedule = ScheduleKind::Cosine;
  double lr = 3e-4, min_lr = -1;  // min_lr < 0: lr / 10
  int64_t warmup = 0;
  double decay_frac = 0.2;
  AdamWConfig adam;
  float clip = 1.0f;  // <= 0: no clipping (the norm is still logged)
  uint64_t seed = 1234;
  double val_fraction = 0.05;
  int64_t eval_every = 0;      // 0: evaluate only at the end
  int64_t eval_windows = 256;  // validation windows per evaluation (0: all)
  int64_t save_every = 0;      // 0: only the final checkpoint
  int64_t curve_every = 10;    // loss.svg refresh period in steps
  float mtp_weight = -1;       // < 0: 0.3 when the model has an MTP module, else 0
  float bias_update_speed = 0.001f;
  float init_std = -1;         // < 0: config's initializer_range, else 0.02
  bool bf16 = false;           // bf16 matmuls, f32 master weights and accumulation
  float seq_aux_alpha = 0;     // α of DeepSeek-V3's sequence-wise balance loss (0: off)
  bool progress = true;        // progress line on stderr (rank 0)
  int64_t stop_after = 0;      // > 0: stop after this many steps of this run, as if killed
};

struct StepRecord {
  int64_t step = 0;  // steps done after this one
  double loss = 0, main_loss = 0, mtp_loss = 0, balance_loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0;
  double eval_loss = -1;  // < 0: not evaluated at this step
};

// Asks a running Trainer to stop after its current step, write OUT/step-N and return (what
// Ctrl-C does in `sputnik train`). Async-signal-safe: it only sets an atomic flag.
void request_stop();

class Trainer {
 public:
  explicit Trainer(TrainerOptions options);
  ~Trainer();

  // Trains from the current step to options.steps (or stop_after steps), writing checkpoints
  // at save_every and the final one to OUT/final.
  void run();

  TrainModel& model() { return *model_; }
  Dataset& data() { return *data_; }
  const TrainerOptions& options() const { return o_; }
  int64_t step() const { return state_.step; }
  const std::vector<StepRecord>& history() const { return history_; }
  // Mean next-token loss over the validation windows (eval_windows of them), all ranks.
  double evaluate();
  // Writes OUT/step-N (or `dir`) now.
  void save(const std::string& dir);
  const nlohmann::json& model_config_json() const { return config_json_; }

 private:
  StepRecord train_step();
  nlohmann::json settings() const;
  void refresh_curve();
  std::string prepare_sft_shard(const std::string& model_source);

  TrainerOptions o_;
  nlohmann::json config_json_;
  std::string tokenizer_dir_;
  std::unique_ptr<TrainModel> model_;
  std::unique_ptr<Dataset> data_;
  std::unique_ptr<AdamW> adam_;
  Schedule schedule_;
  TrainerState state_;
  std::vector<float> acc_;  // gradient accumulation buffer
  std::vector<StepRecord> history_;
  std::unique_ptr<JsonlLog> log_;
  std::unique_ptr<ProgressBar> bar_;
  nlohmann::json last_record_;  // the current step's log line, completed by run()
};

}  // namespace sputnik::train
