// `sputnik run`: generate from a prompt and stream the result. With -p the prompt goes through
// the model's chat template as one user message (--raw: as-is); with --tokens it is token ids
// and ids are printed.
#include <unistd.h>

#include <cstdio>

#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "model_loading.h"
#include "runtime/generate.h"
#include "sampling_options.h"

namespace {

struct Options {
  std::string model, prompt, tokens, system;
  int threads = 0;
  int max_tokens = 256;
  int ctx = 4096;
  bool raw = false;
  bool verbose = false;
  sputnik::SamplingParams sampling;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "HF folder or GGUF file")->required();
  auto* p = app.add_option("-p,--prompt", o->prompt, "prompt text (sent as a user message)");
  app.add_option("--tokens", o->tokens, "prompt as token ids, e.g. 1,2,3 (prints ids)")->excludes(p);
  app.add_option("--system", o->system, "system message");
  app.add_flag("--raw", o->raw, "use the prompt text as-is, without the chat template");
  sputnik::cli::add_threads_option(app, o->threads);
  app.add_option("-n,--max-tokens", o->max_tokens, "tokens to generate")->check(CLI::Range(0, 1 << 24));
  app.add_option("-c,--ctx-size", o->ctx, "context size")->check(CLI::Range(1, 1 << 24));
  app.add_flag("-v,--verbose", o->verbose, "print timings");
  o->sampling.temperature = 0.6f;  // DeepSeek's advice for R1-style models
  sputnik::cli::add_sampling_options(app, o->sampling);
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    if (o->tokens.empty() && o->prompt.empty()) fail("give a prompt with -p TEXT or --tokens 1,2,3");
    ModelBundle bundle = cli::open_model(o->model, o->verbose);
    Model& model = *bundle.model;

    std::vector<int32_t> prompt;
    const bool ids_mode = !o->tokens.empty();
    if (ids_mode) {
      prompt = cli::parse_token_list(o->tokens);
    } else if (o->raw) {
      prompt = bundle.require_tokenizer().encode(o->prompt, EncodeOptions{.add_special = true});
    } else {
      nlohmann::ordered_json messages = nlohmann::ordered_json::array();
      if (!o->system.empty()) messages.push_back({{"role", "system"}, {"content", o->system}});
      messages.push_back({{"role", "user"}, {"content", o->prompt}});
      prompt = encode_chat(bundle, messages);
    }

    KVCache cache = model.make_cache(1, o->ctx);
    GenerateOptions g;
    g.max_tokens = o->max_tokens;
    g.sampling = o->sampling;
    if (!ids_mode) g.stop_ids = bundle.stop_ids;
    std::optional<StreamingDecoder> decoder;
    if (!ids_mode) {
      decoder.emplace(bundle.require_tokenizer());
      // Echo the prompt's tail as the model sees it when it opened its thinking.
      if (!o->raw) {
        const std::string text = bundle.require_tokenizer().decode(prompt);
        if (text.size() >= 8 && text.compare(text.size() - 8, 8, "<think>\n") == 0) std::printf("<think>\n");
      }
    }
    bool first = true;
    auto r = generate(model, cache, prompt, g, [&](int32_t id) {
      if (decoder) {
        std::fputs(decoder->feed(id).c_str(), stdout);
      } else {
        std::printf("%s%d", first ? "" : ",", id);
      }
      first = false;
      std::fflush(stdout);
      return true;
    });
    if (decoder) std::fputs(decoder->flush().c_str(), stdout);
    std::printf("\n");
    std::fflush(stdout);
    if (o->verbose)
      std::fprintf(stderr, "prompt %lld tokens, %.2f tok/s; generated %zu tokens, %.2f tok/s (%s)\n",
                   (long long)r.prompt_tokens, r.prompt_tokens / std::max(r.prefill_seconds, 1e-9),
                   r.tokens.size(), r.tokens.size() / std::max(r.decode_seconds, 1e-9),
                   r.finish_reason.c_str());
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("run", "generate text from a prompt (chat template applied; --tokens for ids)", setup);
