// `sputnik train`: pretrain or fine-tune a Qwen2 / DeepSeek-V2/V3 model on token shards, with
// checkpoints `sputnik run` loads directly (see src/train/trainer.h for the loop).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace {

// First Ctrl-C: finish the step, save a checkpoint, exit. A second one kills as usual.
void on_interrupt(int) {
  sputnik::train::request_stop();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    sputnik::train::TrainerOptions t;
    std::string schedule = "cosine";
    int threads = 0;
    bool quiet = false;
  };
  auto o = std::make_shared<Opts>();
  auto& t = o->t;
  auto* cfg = app.add_option("--model-config", t.model_config, "HF config.json: train from scratch (seeded init)");
  auto* init = app.add_option("--init", t.init, "continue from a checkpoint (HF folder, .safetensors or .gguf)");
  cfg->excludes(init);
  app.add_option("--resume", t.resume, "resume exactly from a checkpoint folder (or a run's --out folder: its latest step-N)");
  app.add_option("--data", t.data, "token shards (.bin, comma-separated; .idx/.mask siblings are read when present)");
  app.add_option("--sft", t.sft,
                 "chat JSONL ({\"messages\": [...]}, comma-separated files): rendered with the chat template, "
                 "loss on assistant tokens only");
  app.add_option("--tokenizer", t.tokenizer, "--sft: tokenizer folder/file (default: the model's own)");
  app.add_option("--chat-template", t.chat_template, "--sft: a .jinja template instead of the model's");
  app.add_option("--steps", t.steps, "optimizer steps")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--batch", t.batch, "sequences per micro-batch (over all ranks)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seq", t.seq, "tokens per sequence")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--accum", t.accum, "micro-batches accumulated per step (global batch = batch × accum)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--lr", t.lr, "peak learning rate")->capture_default_str();
  app.add_option("--min-lr", t.min_lr, "final learning rate of cosine/wsd (default lr/10)");
  app.add_option("--warmup", t.warmup, "linear warmup steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--schedule", o->schedule, "cosine | wsd | constant")->capture_default_str();
  app.add_option("--decay-frac", t.decay_frac, "wsd: share of the steps spent decaying")->capture_default_str();
  app.add_option("--beta1", t.adam.beta1, "AdamW β1")->capture_default_str();
  app.add_option("--beta2", t.adam.beta2, "AdamW β2")->capture_default_str();
  app.add_option("--eps", t.adam.eps, "AdamW ε")->capture_default_str();
  app.add_option("--weight-decay", t.adam.weight_decay, "AdamW weight decay (matrices only)")->capture_default_str();
  app.add_option("--clip", t.clip, "global gradient-norm clip (0: off)")->capture_default_str();
  app.add_option("--seed", t.seed, "seed of the init and the data order")->capture_default_str();
  app.add_option("--val-fraction", t.val_fraction, "share of windows held out for evaluation")->capture_default_str();
  app.add_option("--eval-every", t.eval_every, "evaluate every N steps (0: at the end only)")->capture_default_str();
  app.add_option("--eval-windows", t.eval_windows, "validation sequences per evaluation (0: all)")->capture_default_str();
  app.add_option("--save-every", t.save_every, "checkpoint OUT/step-N every N steps (0: final only)")->capture_default_str();
  app.add_option("--out", t.out, "output folder: checkpoints, log.jsonl, loss.svg")->capture_default_str();
  app.add_option("--log", t.log, "JSONL log, one object per step (default OUT/log.jsonl)");
  app.add_option("--mtp-weight", t.mtp_weight, "λ of the MTP loss (default 0.3 with an MTP module, else 0)");
  app.add_option("--bias-update-speed", t.bias_update_speed,
                 "γ of DeepSeek-V3 aux-loss-free balancing: b_i += γ·sign(mean load − load_i) (0: off)")
      ->capture_default_str();
  app.add_flag("--bf16", t.bf16, "bf16 matmuls (AVX-512 BF16 when present), f32 master weights and accumulation");
  app.add_option("--seq-aux-alpha", t.seq_aux_alpha, "α of DeepSeek-V3's sequence-wise balance loss (0: off)")
      ->capture_default_str();
  app.add_option("--init-std", t.init_std, "std of the random init (default: config's initializer_range or 0.02)");
  app.add_option("--stop-after", t.stop_after, "stop after N steps of this run without a final checkpoint (as if killed)");
  app.add_flag("-q,--quiet", o->quiet, "no progress line on stderr");
  sputnik::cli::add_threads_option(app, o->threads);
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    o->t.schedule = train::parse_schedule_kind(o->schedule);
    o->t.progress = !o->quiet;
    train::Trainer trainer(o->t);
    std::signal(SIGINT, on_interrupt);
    std::signal(SIGTERM, on_interrupt);
    const auto& d = trainer.data();
    if (train::Distributed::instance().is_root() && !o->quiet)
      std::fprintf(stderr, "train: %s, %zu parameters; data %lld tokens (%lld docs) = %lld windows, %lld held out; %d rank(s)\n",
                   trainer.model().config().model_type.c_str(), trainer.model().data().size(), (long long)d.num_tokens(),
                   (long long)d.num_docs(), (long long)d.num_windows(), (long long)d.num_val_windows(),
                   train::Distributed::instance().size());
    trainer.run();
    if (train::Distributed::instance().is_root() && !o->quiet && trainer.step() >= o->t.steps)
      std::fprintf(stderr, "train: checkpoint %s\n", (std::filesystem::path(o->t.out) / "final").string().c_str());
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("train", "train a model on token shards (checkpoints load with run/logits)", setup);
