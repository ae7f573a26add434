#pragma once
// One choice of one request, on the scheduler thread: tokens -> UTF-8-safe text -> thinking /
// answer split -> stop strings -> the delta to send. Also counts thinking tokens and, when the
// thinking budget is spent, asks the scheduler to force the closing tag so the model answers.
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/reasoning_parser.h"
#include "server/scheduler.h"
#include "server/stop_filter.h"

namespace sputnik::server {

// Token ids -> text (the real one wraps the tokenizer's StreamingDecoder).
class TokenText {
 public:
  virtual ~TokenText() = default;
  virtual std::string feed(int32_t id) = 0;   // only complete UTF-8
  virtual std::string flush() = 0;
  virtual std::string piece(int32_t id) = 0;  // one token's raw bytes (logprobs)
};

struct ChoiceOptions {
  bool split_reasoning = true;  // chat: separate reasoning_content
  ReasoningStyle style = ReasoningStyle::ModelOpens;  // from the rendered prompt
  std::vector<std::string> stop;
  std::optional<int64_t> reasoning_budget;
  std::vector<int32_t> close_thinking;  // ids of "</think>\n\n"
  bool logprobs = false;
  bool chat_logprobs_format = true;  // chat: {content:[...]}; completions: legacy arrays
};

struct Delta {
  int index = 0;
  std::string reasoning, content;
  nlohmann::json logprobs;  // array of per-token entries, or null
  std::string finish_reason;  // set on the last delta of the choice
  std::string error;
  SequenceEnd end;
  int64_t reasoning_tokens = 0;  // of the whole choice, on the last delta
  bool empty() const {
    return reasoning.empty() && content.empty() && logprobs.is_null() && finish_reason.empty();
  }
};

class ChoiceStream {
 public:
  ChoiceStream(int index, std::unique_ptr<TokenText> text, ChoiceOptions options);

  TokenReply on_token(const TokenEvent& ev, Delta& out);
  void on_end(const SequenceEnd& end, Delta& out);

  int64_t reasoning_tokens() const { return reasoning_tokens_; }

 private:
  void route(std::string_view text, Delta& out, bool final);
  nlohmann::json logprob_entry(int32_t id, float logprob) ;

  int index_;
  std::unique_ptr<TokenText> text_;
  ChoiceOptions opt_;
  ReasoningParser parser_;
  StopFilter stop_;
  int64_t reasoning_tokens_ = 0;
  bool close_forced_ = false;
};

}  // namespace sputnik::server
