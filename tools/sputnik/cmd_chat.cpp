// `sputnik chat`: interactive multi-turn chat in the terminal. The model's thinking is shown
// dimmed (or between [thinking] markers when stdout is not a terminal); only the answer goes
// back into the history, as DeepSeek's API and the templates expect. The KV cache keeps the
// conversation, so each turn only computes the tokens that changed.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "chat/reasoning_parser.h"
#include "command.h"
#include "core/error.h"
#include "core/threads.h"
#include "model_loading.h"
#include "runtime/generate.h"
#include "sampling_options.h"

namespace {

struct Options {
  std::string model, system;
  int threads = 0;
  int max_tokens = 2048;
  int ctx = 8192;
  sputnik::SamplingParams sampling;
};

std::function<int()> setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  app.add_option("-m,--model", o->model, "HF folder or GGUF file")->required();
  app.add_option("--system", o->system, "system message");
  sputnik::cli::add_threads_option(app, o->threads);
  app.add_option("-n,--max-tokens", o->max_tokens, "tokens per reply")->check(CLI::Range(1, 1 << 24));
  app.add_option("-c,--ctx-size", o->ctx, "context size")->check(CLI::Range(16, 1 << 24));
  o->sampling.temperature = 0.6f;
  o->sampling.top_p = 0.95f;
  sputnik::cli::add_sampling_options(app, o->sampling);
  return [o] {
    using namespace sputnik;
    set_num_threads(o->threads);
    ModelBundle bundle = cli::open_model(o->model, true);
    const Tokenizer& tok = bundle.require_tokenizer();
    const bool tty = isatty(STDOUT_FILENO);
    const char* dim = tty ? "\033[2m" : "[thinking]\n";
    const char* undim = tty ? "\033[0m\n" : "\n[/thinking]\n";

    KVCache cache = bundle.model->make_cache(1, o->ctx);
    std::vector<int32_t> cached;  // tokens currently in the cache
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!o->system.empty()) messages.push_back({{"role", "system"}, {"content", o->system}});
    std::fprintf(stderr, "chat with %s — /reset clears the conversation, /exit or Ctrl-D quits\n",
                 o->model.c_str());
    std::string line;
    while (true) {
      std::fputs(tty ? "\n\033[1m> \033[0m" : "> ", stdout);
      std::fflush(stdout);
      if (!std::getline(std::cin, line) || line == "/exit") break;
      if (line.empty()) continue;
      if (line == "/reset") {
        messages.erase(messages.begin() + (o->system.empty() ? 0 : 1), messages.end());
        continue;
      }
      messages.push_back({{"role", "user"}, {"content", line}});
      const std::string prompt_text = bundle.require_template().render(messages);
      std::vector<int32_t> prompt = tok.encode(prompt_text);
      // Reuse the longest cached prefix; recompute at least one token to get fresh logits.
      size_t common = 0;
      while (common < cached.size() && common < prompt.size() && cached[common] == prompt[common]) ++common;
      common = std::min(common, prompt.size() - 1);
      cache.truncate(0, int64_t(common));
      cached.assign(prompt.begin(), prompt.end());
      if (int64_t(prompt.size()) + 1 >= o->ctx) {
        std::fprintf(stderr, "the conversation no longer fits the context (%d tokens); /reset\n", o->ctx);
        messages.erase(messages.end() - 1);
        continue;
      }

      ReasoningParser parser(ReasoningParser::style_for_prompt(prompt_text));
      StreamingDecoder decoder(tok, true);
      std::string answer;
      bool thinking_shown = false, answer_started = false;
      auto show = [&](const ReasoningDelta& d) {
        if (!d.reasoning.empty()) {
          if (!thinking_shown) std::fputs(dim, stdout);
          thinking_shown = true;
          std::fputs(d.reasoning.c_str(), stdout);
        }
        if (!d.content.empty()) {
          if (thinking_shown && !answer_started) std::fputs(undim, stdout);
          answer_started = true;
          std::fputs(d.content.c_str(), stdout);
          answer += d.content;
        }
        std::fflush(stdout);
      };
      GenerateOptions g;
      g.max_tokens = std::min<int>(o->max_tokens, o->ctx - int(prompt.size()) - 1);
      g.sampling = o->sampling;
      g.stop_ids = bundle.stop_ids;
      auto r = generate(*bundle.model, cache, std::span(prompt).subspan(common), g, [&](int32_t id) {
        cached.push_back(id);
        show(parser.feed(decoder.feed(id)));
        return true;
      });
      cached.resize(size_t(cache.length(0)));  // the final token may not have been run yet
      show(parser.feed(decoder.flush()));
      show(parser.finish());
      if (thinking_shown && !answer_started) std::fputs(undim, stdout);
      std::fprintf(stderr, "\n[%zu tokens, %.1f tok/s]\n", r.tokens.size(),
                   r.tokens.size() / std::max(r.decode_seconds, 1e-9));
      messages.push_back({{"role", "assistant"}, {"content", answer}});
    }
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("chat", "interactive multi-turn chat (thinking shown dimmed)", setup);
