#pragma once
// Splits a reasoning model's output into its thinking ("reasoning") and its answer ("content"),
// incrementally: feed text pieces as they are generated and get back what can already be shown
// of each part. A possible partial tag at the end of a piece ("</thi") is held back until the
// next piece decides it, so a tag split across tokens never leaks into either part.
//
// Normalization (the same in streaming and one-shot use): newlines right after the opening tag
// and right before the closing tag are dropped from the reasoning, and newlines right after the
// closing tag are dropped from the content (what the Qwen3 template does to earlier turns,
// and what DeepSeek's API returns).
#include <string>
#include <string_view>

namespace sputnik {

enum class ReasoningStyle {
  PromptOpened,  // DeepSeek-R1 (and QwQ): the prompt already ends with <think>; output starts inside
  ModelOpens,    // Qwen3: the model writes <think> itself at the start of its output, or answers directly
  None,          // the model does not think: everything is content
};

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
  bool empty() const { return reasoning.empty() && content.empty(); }
};

class ReasoningParser {
 public:
  explicit ReasoningParser(ReasoningStyle style, std::string open_tag = "<think>", std::string close_tag = "</think>");

  // The style implied by a rendered prompt: ending with the open tag (ignoring trailing
  // whitespace) means the model starts inside its thinking; ending with the close tag means
  // thinking was switched off (Qwen3 enable_thinking=false); otherwise the model may open it.
  static ReasoningStyle style_for_prompt(std::string_view prompt, std::string_view open_tag = "<think>",
                                         std::string_view close_tag = "</think>");

  // Consumes the next piece of generated text; returns the newly decided reasoning/content.
  ReasoningDelta feed(std::string_view piece);
  // End of generation (stop token or max_tokens): releases anything held back. Thinking that
  // never closed stays reasoning.
  ReasoningDelta finish();

  // One-shot split of a complete output; identical to feeding it in any number of pieces.
  static ReasoningDelta parse(std::string_view text, ReasoningStyle style);

  // True while the output is inside the thinking block (the server's thinking budget uses it).
  bool in_reasoning() const { return state_ == State::ReasoningStart || state_ == State::Reasoning; }
  // True once the closing tag has been seen.
  bool reasoning_closed() const { return closed_; }

 private:
  enum class State { Start, ReasoningStart, Reasoning, ContentStart, Content };
  void step(ReasoningDelta& out, bool final);

  std::string open_;
  std::string close_;
  State state_;
  std::string pending_;
  bool closed_ = false;
};

}  // namespace sputnik
