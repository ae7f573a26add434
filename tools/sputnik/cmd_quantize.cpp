// `sputnik quantize -m MODEL -o OUT.gguf --type q8_0|q4_0|q4_k|f16|bf16|f32`: writes a GGUF file
// llama.cpp loads (formats/gguf_export.h), from an HF folder (or re-typing a GGUF file).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "core/progress_line.h"
#include "core/threads.h"
#include "formats/gguf_export.h"
#include "formats/loader.h"

namespace {

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string model, out, type = "q8_0", name, pre;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "HF folder (config.json + safetensors) or .gguf file")->required();
  app.add_option("-o,--output", o->out, "GGUF file to write")->required();
  app.add_option("--type", o->type, "weight type: q8_0, q4_0, q4_k, f16, bf16, f32 (default q8_0)");
  app.add_option("--name", o->name, "general.name (default: the model folder's name)");
  app.add_option("--pre", o->pre, "tokenizer.ggml.pre (default: guessed from tokenizer.json)");
  sputnik::cli::add_threads_option(app, o->threads);
  return [o] {
    using namespace sputnik;
    static const std::map<std::string, DType> kTypes = {
        {"q8_0", DType::Q8_0}, {"q4_0", DType::Q4_0}, {"q4_k", DType::Q4_K},
        {"f16", DType::F16},   {"bf16", DType::BF16}, {"f32", DType::F32}};
    auto it = kTypes.find(o->type);
    if (it == kTypes.end()) fail("unknown --type '{}' (q8_0, q4_0, q4_k, f16, bf16, f32)", o->type);
    if (o->threads > 0) set_num_threads(o->threads);

    auto store = load_weights(o->model);
    GgufExportOptions opts;
    opts.type = it->second;
    opts.name = o->name;
    opts.pre = o->pre;
    namespace fs = std::filesystem;
    const fs::path src(o->model);
    opts.tokenizer_dir = fs::is_directory(src) ? src.string() : src.parent_path().string();
    // A line every ~10 s in a log (a 16B model takes minutes on two cores). The exporter keeps
    // a copy of this function per tensor: the line is shared.
    auto line = std::make_shared<ProgressLine>(10.0);
    opts.progress = [=](size_t done, size_t total) {
      const bool final = done == total;
      if (line->due(final))
        line->show(fmt::format("quantize: {}/{} tensors ({:.0f} s)", done, total, line->seconds()), final);
    };
    export_gguf(*store, o->out, opts);
    std::printf("wrote %s (%s, %ju bytes)\n", o->out.c_str(), o->type.c_str(),
                uintmax_t(fs::file_size(o->out)));
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("quantize", "write a GGUF file (q8_0/q4_0/q4_k/f16/bf16/f32) llama.cpp can load", setup);
