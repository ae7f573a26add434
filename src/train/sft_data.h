#pragma once
// Supervised fine-tuning data: chat examples ({"messages": [{role, content}, ...]}) rendered with
// the model's own chat template and tokenized, with a mask that says which tokens the model is
// trained to produce -- the assistant turns (their content, thinking, tool calls and end-of-turn
// token), never the system/user/tool text or the template's scaffolding.
//
// How the assistant spans are found: the template is rendered for prefixes of the conversation.
// render(messages[:k]) must be a true prefix of the full render (checked; a clear Error
// otherwise), so turn k's text starts there. Its header (e.g. "<|im_start|>assistant\n" or
// "<｜Assistant｜>") is what add_generation_prompt appends to that prefix -- the part of it the
// turn reproduces, cut on a token boundary (DeepSeek-R1's prompt adds "<think>\n" that history
// turns do not carry). After the header comes the assistant's output, up to and including its
// first end-of-turn token (template eos_token, <|im_end|>, <｜end▁of▁sentence｜>, ...); whatever
// follows (a newline) is scaffolding again.
//
// Tokens are encoded segment by segment (scaffolding, assistant span, scaffolding, ...), so each
// assistant span starts on a token boundary exactly as at inference, where the prompt ends at the
// generation header and the model's own tokens follow.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace sputnik {

// One rendered conversation: mask[i] = 1 when tokens[i] is a training target (an assistant
// token), 0 otherwise. tokens.size() == mask.size().
struct SftExample {
  std::vector<uint32_t> tokens;
  std::vector<uint8_t> mask;
  std::string text;  // the full rendered conversation (for debugging and tests)
};

struct SftOptions {
  // Template variables (enable_thinking, extra kwargs). add_generation_prompt is ignored: the
  // renderer sets it itself. An example's own "tools" array is passed to the template.
  ChatOptions chat;
  // Templates such as DeepSeek-R1's drop every assistant's thinking. With this set, the final
  // assistant turn's thinking ("reasoning_content", or <think>...</think> in its content) is
  // trained anyway, the way R1-style data looks: the generation prompt, then
  // "[<think>\n]reasoning\n</think>\n\nanswer" and the template's end of turn. Templates that
  // keep the thinking themselves (Qwen3) are rendered as they are.
  bool keep_reasoning = false;
};

// Renders and masks one example: a JSON object with "messages" (array of {role, content} with
// role system/user/assistant/tool; assistant turns may carry "reasoning_content" and
// "tool_calls") and optionally "tools". Throws sputnik::Error on bad input (not an object, no
// messages, unknown role, non-string content, no assistant turn, a template whose prefixes do not
// line up); `where` (e.g. "data.jsonl:12") starts every message.
SftExample render_sft_example(const nlohmann::ordered_json& example, const ChatTemplate& chat_template,
                              const Tokenizer& tokenizer, const SftOptions& options = {},
                              std::string_view where = "");

// Many examples in memory, concatenated in input order -- the same layout as a token shard
// (token_shard_writer.h): document d is tokens[offsets[d] .. offsets[d+1]), mask alongside.
// No EOS is appended: the template already ends every assistant turn with its end token.
struct SftDataset {
  std::vector<uint32_t> tokens;
  std::vector<uint8_t> mask;
  std::vector<uint64_t> offsets{0};  // n_docs + 1 entries, last = tokens.size()
  uint64_t skipped = 0;               // bad lines skipped (skip_bad)

  size_t n_docs() const { return offsets.size() - 1; }
  void append(const SftExample& e);
};

struct SftLoadOptions {
  SftOptions sft;
  int threads = 0;        // 0 = the process default (OpenMP); output order never depends on it
  bool skip_bad = false;  // count and skip malformed lines instead of throwing
};

// The chat template for `-m PATH`: `template_file` when given (a .jinja file; bos/eos tokens
// from the tokenizer), else a GGUF's tokenizer.chat_template (or the built-in template of its
// architecture), else the folder's own (ChatTemplate::from_folder; a tokenizer.json path means
// its folder).
ChatTemplate load_sft_template(const std::string& model_path, const Tokenizer& tokenizer,
                               const std::string& template_file = "");

// Reads a JSONL file of chat examples (one per non-empty line). Errors name "path:line".
SftDataset load_sft_jsonl(const std::string& path, const ChatTemplate& chat_template, const Tokenizer& tokenizer,
                          const SftLoadOptions& options = {});

}  // namespace sputnik
