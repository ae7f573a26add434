// `sputnik perplexity`: scores a text file exactly as llama.cpp's llama-perplexity does.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "model_loading.h"
#include "runtime/perplexity.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Options {
  std::string model, file;
  int threads = 0;
  int ctx = 512;
  int chunks = -1;
  int batch = 2048;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "HF folder or GGUF file")->required();
  app.add_option("-f,--file", o->file, "text file to score")->required();
  app.add_option("-c,--ctx-size", o->ctx, "tokens per chunk")->check(CLI::Range(4, 1 << 20));
  app.add_option("--chunks", o->chunks, "score at most this many chunks (-1: all)");
  app.add_option("-b,--batch-size", o->batch, "tokens per forward pass")->check(CLI::Range(1, 1 << 20));
  sputnik::cli::add_threads_option(app, o->threads);
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    std::ifstream in(o->file, std::ios::binary);
    if (!in) fail("{}: cannot open", o->file);
    std::stringstream text;
    text << in.rdbuf();

    ModelBundle bundle = cli::open_model(o->model);
    Model& model = *bundle.model;
    const Tokenizer& tok = bundle.require_tokenizer();
    // As llama-perplexity: special tokens added as the vocabulary says, special text not parsed.
    EncodeOptions enc;
    enc.add_special = true;
    enc.parse_special = false;
    const std::vector<int32_t> tokens = tok.encode(text.str(), enc);
    const auto probe = tok.encode("a", enc);
    PerplexityOptions p;
    p.n_ctx = o->ctx;
    p.max_chunks = o->chunks;
    p.bos_id = tok.bos_id();
    p.add_bos = p.bos_id >= 0 && !probe.empty() && probe.front() == p.bos_id;
    const int vocab = int(model.config().vocab_size);
    std::fprintf(stderr, "perplexity: %zu tokens, %d per chunk, add_bos=%d\n", tokens.size(), o->ctx, p.add_bos);

    const int n_batch = std::min(o->batch, o->ctx);
    auto eval = [&](std::span<const int32_t> chunk, std::vector<float>& logits) {
      KVCache cache = model.make_cache(1, int64_t(chunk.size()));
      logits.resize(chunk.size() * size_t(vocab));
      Batch batch;
      for (size_t start = 0; start < chunk.size(); start += size_t(n_batch)) {
        const size_t end = std::min(chunk.size(), start + size_t(n_batch));
        batch.clear();
        for (size_t i = start; i < end; ++i) batch.add(chunk[i], 0, int64_t(i), true);
        model.forward(batch, cache, logits.data() + start * size_t(vocab));
      }
    };
    auto r = compute_perplexity(tokens, vocab, p, eval, [](int c, double running) {
      std::printf("[%d]%.4f,", c + 1, running);
      std::fflush(stdout);
    });
    std::printf("\nscored %lld tokens, estimate: PPL = %.4f +/- %.5f\n", (long long)r.scored_tokens, r.ppl,
                r.ppl_stderr);
    std::printf("ppl = %.6f\n", r.ppl);
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("perplexity", "score a text file as llama-perplexity does (ends with `ppl = X`)", setup);
