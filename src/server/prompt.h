#pragma once
// Turns API messages into prompt token ids with the model's chat template, and knows the
// model's special ids (end of turn, the "</think>" that closes a thinking budget).
//
// Prompt injection guard: message text is tokenized with parse_special=false, so a user typing
// "<|im_end|>" gets plain text ids, never the control token; only the template's own text
// yields special tokens.
#include <memory>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "chat/reasoning_parser.h"
#include "runtime/bundle.h"
#include "server/request.h"
#include "tokenizer/tokenizer.h"

namespace sputnik::server {

struct Prompt {
  std::vector<int32_t> ids;
  std::string text;
  ReasoningStyle style = ReasoningStyle::ModelOpens;  // what the rendered prompt implies
};

class PromptBuilder {
 public:
  // The template and the stop ids come from the model bundle (runtime/bundle.h): the folder's
  // own template, the GGUF's tokenizer.chat_template, or the built-in one of its architecture;
  // the stop ids are the bundle's, so the server ends turns exactly where `run` and `chat` do.
  PromptBuilder(Tokenizer tokenizer, ChatTemplate chat_template, std::vector<int32_t> stop_ids);
  explicit PromptBuilder(const ModelBundle& bundle);

  Prompt chat(const std::vector<ChatMessage>& messages) const;
  Prompt completion(const std::string& text) const;

  const Tokenizer& tokenizer() const { return tok_; }
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  const std::vector<int32_t>& close_thinking_ids() const { return close_thinking_; }

 private:
  Tokenizer tok_;
  std::shared_ptr<ChatTemplate> template_;
  std::vector<int32_t> stop_ids_, close_thinking_;
};

// Tokens -> streamed text via the tokenizer's StreamingDecoder (special tokens are skipped:
// an end-of-turn marker never shows up in the answer).
std::unique_ptr<class TokenText> make_token_text(const Tokenizer& tokenizer);

}  // namespace sputnik::server
