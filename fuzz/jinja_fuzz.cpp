// libFuzzer target: arbitrary bytes as a Jinja template (rendered against a small chat
// context) and as streamed model output for the reasoning parser. Any sputnik::Error is an
// acceptable answer; crashes, hangs, leaks and sanitizer reports are not.
#include <cstddef>
#include <cstdint>
#include <string>

#include "chat/jinja.h"
#include "chat/reasoning_parser.h"
#include "core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "hi <think>"},
                 {"role": "assistant", "content": "<think>r</think>a", "tool_calls": [
                   {"type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
                 {"role": "tool", "content": "42"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false})");
  try {
    sputnik::jinja::Template::parse(input, "fuzz").render(context);
  } catch (const sputnik::Error&) {
  }
  // The same bytes as model output, in pieces of varying size.
  for (auto style : {sputnik::ReasoningStyle::PromptOpened, sputnik::ReasoningStyle::ModelOpens}) {
    sputnik::ReasoningParser p(style);
    size_t i = 0, step = 1;
    while (i < input.size()) {
      p.feed(std::string_view(input).substr(i, step));
      i += step;
      step = step % 7 + 1;
    }
    p.finish();
  }
  return 0;
}
