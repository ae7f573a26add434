#pragma once
// Training checkpoints as Hugging Face folders that the inference side loads directly:
//   DIR/config.json                 the model's config (model_type, architectures, ...)
//   DIR/model.safetensors           every TrainModel parameter in f32 under its HF name
//   DIR/tokenizer.json, tokenizer_config.json   copied when the run started from a folder with them
// and, for resuming, the rest of the run's state:
//   DIR/trainer_state.safetensors   AdamW first/second moments ("optimizer.m", "optimizer.v")
//   DIR/trainer_state.json          steps done, AdamW step count, data position, seed, the
//                                   settings that must match on resume, and the loss curves
// The data order is a pure function of (seed, data position), so those two are the whole RNG
// state. A folder is written under DIR.tmp and renamed into place: a run killed mid-save leaves
// the previous checkpoint intact.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "train/adamw.h"
#include "train/loss_curve.h"
#include "train/model.h"

namespace sputnik::train {

struct TrainerState {
  int64_t step = 0;           // optimizer steps done
  int64_t data_position = 0;  // training windows consumed (Dataset::position)
  uint64_t seed = 0;
  double tokens_seen = 0, elapsed_s = 0;
  nlohmann::json settings = nlohmann::json::object();  // must equal the resuming run's
  std::vector<CurvePoint> train_curve, eval_curve;
};

// config.json for a checkpoint: `given` (the config the run started from) with model_type and
// architectures filled in when absent, and torch_dtype float32 (what model.safetensors holds).
nlohmann::json checkpoint_config(const ModelConfig& config, nlohmann::json given);

// Writes the HF folder (config, weights, tokenizer files found in tokenizer_dir when non-empty).
void save_model_folder(const std::string& dir, TrainModel& model, const nlohmann::json& config,
                       const std::string& tokenizer_dir);
// The HF folder plus the optimizer and trainer state.
void save_checkpoint(const std::string& dir, TrainModel& model, const nlohmann::json& config,
                     const std::string& tokenizer_dir, AdamW& adam, const TrainerState& state);

// `path` is a checkpoint folder (holds trainer_state.json) or a run's --out folder, whose
// highest step-N checkpoint is taken. Throws Error when neither.
std::string find_resume_dir(const std::string& path);
// Reads trainer_state.* from `dir` into adam and the returned state; the weights load with
// TrainModel::load(load_weights(dir)). Throws Error on a missing file or size mismatch.
TrainerState load_trainer_state(const std::string& dir, AdamW& adam, size_t num_floats);

}  // namespace sputnik::train
