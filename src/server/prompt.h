#pragma once
// Turns API messages into prompt token ids with the model's chat template, and knows the
// model's special ids (end of turn, the "</think>" that closes a thinking budget).
//
// Server-side adapter: renders tokenizer_config.json's chat_template with src/chat's Jinja
// interpreter (the chat layer's higher-level template API had not landed); a model without a
// template gets a built-in one (ChatML for Qwen vocabularies, DeepSeek-R1's otherwise).
//
// Prompt injection guard: message text is tokenized with parse_special=false, so a user typing
// "<|im_end|>" gets plain text ids, never the control token; only the template's own text
// yields special tokens.
#include <memory>
#include <string>
#include <vector>

#include "chat/jinja.h"
#include "server/request.h"
#include "tokenizer/tokenizer.h"

namespace sputnik::server {

struct Prompt {
  std::vector<int32_t> ids;
  std::string text;
  bool starts_in_thinking = false;  // the rendered prompt ends inside an open <think>
};

class PromptBuilder {
 public:
  // `model_path`: the folder (or file) given to -m; its tokenizer_config.json is read if any.
  PromptBuilder(Tokenizer tokenizer, const std::string& model_path);
  // From a template source directly (tests).
  PromptBuilder(Tokenizer tokenizer, const std::string& chat_template, std::string bos,
                std::string eos);

  Prompt chat(const std::vector<ChatMessage>& messages) const;
  Prompt completion(const std::string& text) const;

  const Tokenizer& tokenizer() const { return tok_; }
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  const std::vector<int32_t>& close_thinking_ids() const { return close_thinking_; }

 private:
  void init_ids();

  Tokenizer tok_;
  std::shared_ptr<jinja::Template> template_;
  std::string bos_, eos_;
  std::vector<int32_t> stop_ids_, close_thinking_;
};

// Tokens -> streamed text via the tokenizer's StreamingDecoder (special tokens are skipped:
// an end-of-turn marker never shows up in the answer).
std::unique_ptr<class TokenText> make_token_text(const Tokenizer& tokenizer);

}  // namespace sputnik::server
