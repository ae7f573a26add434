#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"

namespace sputnik::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string architecture_of(Arch a) {
  switch (a) {
    case Arch::Qwen2: return "Qwen2ForCausalLM";
    case Arch::DeepSeekV2: return "DeepseekV2ForCausalLM";
    case Arch::DeepSeekV3: return "DeepseekV3ForCausalLM";
  }
  return "";
}

json curve_json(const std::vector<CurvePoint>& c) {
  json a = json::array();
  for (const CurvePoint& p : c) a.push_back({p.step, p.loss});
  return a;
}

std::vector<CurvePoint> curve_from(const json& a) {
  std::vector<CurvePoint> c;
  for (const json& p : a) c.push_back({p.at(0).get<int64_t>(), p.at(1).is_number() ? p.at(1).get<double>() : NAN});
  return c;
}

void write_folder(const std::string& dir, TrainModel& model, const json& config, const std::string& tokenizer_dir,
                  AdamW* adam, const TrainerState* state) {
  const fs::path tmp = dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) fail("{}: cannot create the checkpoint folder: {}", tmp.string(), ec.message());

  std::ofstream(tmp / "config.json") << config.dump(2) << "\n";
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  for (const Param& p : model.params()) w.add_f32(p.name, p.shape, model.data().data() + p.offset);
  w.write((tmp / "model.safetensors").string());
  if (!tokenizer_dir.empty())
    for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json"})
      if (fs::exists(fs::path(tokenizer_dir) / f)) {
        fs::copy_file(fs::path(tokenizer_dir) / f, tmp / f, fs::copy_options::overwrite_existing, ec);
        if (ec) fail("{}: cannot copy {} into the checkpoint: {}", tokenizer_dir, f, ec.message());
      }

  if (adam && state) {
    SafetensorsWriter s;
    const int64_t n = int64_t(adam->m().size());
    s.add_f32("optimizer.m", {n}, adam->m().data());
    s.add_f32("optimizer.v", {n}, adam->v().data());
    s.write((tmp / "trainer_state.safetensors").string());
    json j = {{"step", state->step},
              {"adam_steps", adam->steps()},
              {"data_position", state->data_position},
              {"seed", state->seed},
              {"tokens_seen", state->tokens_seen},
              {"elapsed_s", state->elapsed_s},
              {"settings", state->settings},
              {"train_curve", curve_json(state->train_curve)},
              {"eval_curve", curve_json(state->eval_curve)}};
    std::ofstream(tmp / "trainer_state.json") << j.dump(1) << "\n";
  }
  if (!fs::exists(tmp / "config.json") || fs::file_size(tmp / "config.json") == 0)
    fail("{}: cannot write config.json", tmp.string());
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  if (ec) fail("{}: cannot move the checkpoint into place: {}", dir, ec.message());
}

}  // namespace

json checkpoint_config(const ModelConfig& config, json given) {
  if (!given.is_object()) given = json::object();
  if (!given.contains("model_type")) given["model_type"] = config.model_type;
  if (!given.contains("architectures")) given["architectures"] = {architecture_of(config.arch)};
  given["torch_dtype"] = "float32";
  return given;
}

void save_model_folder(const std::string& dir, TrainModel& model, const json& config,
                       const std::string& tokenizer_dir) {
  write_folder(dir, model, config, tokenizer_dir, nullptr, nullptr);
}

void save_checkpoint(const std::string& dir, TrainModel& model, const json& config, const std::string& tokenizer_dir,
                     AdamW& adam, const TrainerState& state) {
  write_folder(dir, model, config, tokenizer_dir, &adam, &state);
}

std::string find_resume_dir(const std::string& path) {
  if (fs::exists(fs::path(path) / "trainer_state.json")) return path;
  if (!fs::is_directory(path)) fail("--resume {}: no such checkpoint folder", path);
  int64_t best = -1;
  std::string best_dir;
  for (const auto& e : fs::directory_iterator(path)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !fs::exists(e.path() / "trainer_state.json")) continue;
    try {
      size_t used = 0;
      const int64_t n = std::stoll(name.substr(5), &used);
      if (used == name.size() - 5 && n > best) best = n, best_dir = e.path().string();
    } catch (const std::exception&) {
    }
  }
  if (best < 0) fail("--resume {}: neither a checkpoint (trainer_state.json) nor a run folder with step-N checkpoints", path);
  return best_dir;
}

TrainerState load_trainer_state(const std::string& dir, AdamW& adam, size_t num_floats) {
  const fs::path jpath = fs::path(dir) / "trainer_state.json";
  std::ifstream in(jpath);
  if (!in) fail("{}: cannot open", jpath.string());
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", jpath.string(), e.what());
  }
  TrainerState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.data_position = j.at("data_position").get<int64_t>();
    s.seed = j.at("seed").get<uint64_t>();
    s.tokens_seen = j.value("tokens_seen", 0.0);
    s.elapsed_s = j.value("elapsed_s", 0.0);
    s.settings = j.value("settings", json::object());
    s.train_curve = curve_from(j.value("train_curve", json::array()));
    s.eval_curve = curve_from(j.value("eval_curve", json::array()));
    adam.set_steps(j.at("adam_steps").get<int64_t>());
  } catch (const json::exception& e) {
    fail("{}: bad trainer state: {}", jpath.string(), e.what());
  }
  const std::string spath = (fs::path(dir) / "trainer_state.safetensors").string();
  auto file = MappedFile::open(spath);
  const SafetensorsFile st = parse_safetensors(*file);
  for (const char* name : {"optimizer.m", "optimizer.v"}) {
    const TensorView* t = nullptr;
    for (const TensorView& v : st.tensors)
      if (v.name == name) t = &v;
    if (!t) fail("{}: missing tensor '{}'", spath, name);
    if (t->dtype != DType::F32 || size_t(t->numel()) != num_floats)
      fail("{}: '{}' holds {} values, the model has {} parameters", spath, name, t->numel(), num_floats);
    std::vector<float>& dst = std::string(name) == "optimizer.m" ? adam.m() : adam.v();
    std::memcpy(dst.data(), t->data, num_floats * sizeof(float));
  }
  return s;
}

}  // namespace sputnik::train
