// `sputnik logits -m PATH --tokens 1,2,3`: float32 logits of every position, one JSON array per
// line — the black-box hook the reference tests compare against PyTorch.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "model_loading.h"
#include "core/error.h"
#include "core/threads.h"
#include "formats/loader.h"
#include "kernels/matmul.h"
#include "models/model.h"

namespace {

void print_row(const float* row, int64_t n) {
  std::string line = "[";
  for (int64_t i = 0; i < n; ++i) {
    if (i) line += ',';
    line += fmt::format("{:.9g}", row[i]);
  }
  line += "]\n";
  std::fputs(line.c_str(), stdout);
}

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string model, tokens;
    int threads = 0;
    int64_t decode_from = -1;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "model folder, .safetensors or .gguf")->required();
  app.add_option("--tokens", o->tokens, "comma-separated token ids, e.g. 1,2,3")->required();
  app.add_option("--decode-from", o->decode_from,
                 "run the first N tokens as one batch, then one token per step through the KV "
                 "cache (default: all tokens in one batch)")
      ->check(CLI::NonNegativeNumber);
  sputnik::cli::add_threads_option(app, o->threads);
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    set_matmul_exact(true);  // float32 logits: no int8 activations for quantized weights
    const std::vector<int32_t> tokens = sputnik::cli::parse_token_list(o->tokens);
    std::shared_ptr<const WeightStore> weights = load_weights(o->model);
    std::unique_ptr<Model> model = load_model(weights);
    const int64_t n = int64_t(tokens.size()), vocab = model->config().vocab_size;
    KVCache cache = model->make_cache(1, n);
    std::vector<float> logits(size_t(n * vocab));
    const int64_t first = o->decode_from < 0 ? n : std::min<int64_t>(o->decode_from, n);
    Batch batch;
    for (int64_t p = 0; p < first; ++p) batch.add(tokens[size_t(p)], 0, p, true);
    if (first > 0) model->forward(batch, cache, logits.data());
    for (int64_t p = first; p < n; ++p) {
      batch.clear();
      batch.add(tokens[size_t(p)], 0, p, true);
      model->forward(batch, cache, logits.data() + p * vocab);
    }
    for (int64_t p = 0; p < n; ++p) print_row(logits.data() + p * vocab, vocab);
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("logits", "print float32 logits per position as JSON arrays (numeric checks)", setup);
