#pragma once
// Splits streamed model text into thinking (`reasoning_content`) and answer (`content`) as
// DeepSeek's deepseek-reasoner API does. Two styles:
//   - the prompt already opened the thinking (DeepSeek-R1, QwQ templates end with "<think>\n"):
//     output starts inside the thinking;
//   - the model may open it itself with a leading "<think>" (Qwen3).
// Tags split across pieces are held back until they complete; newlines right after "<think>"
// and "</think>" and whitespace right before "</think>" are dropped, so neither field starts or
// ends with the template's padding. (Server-side adapter; src/chat's parser had not landed.)
#include <string>
#include <string_view>

namespace sputnik::server {

struct SplitText {
  std::string reasoning, content;
};

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(bool starts_in_thinking, std::string open_tag = "<think>",
                             std::string close_tag = "</think>");

  SplitText feed(std::string_view text);
  SplitText flush();  // end of output: releases held text (an unclosed thinking stays reasoning)
  bool in_thinking() const { return state_ == State::kThinking; }
  bool thinking_closed() const { return closed_; }

 private:
  enum class State { kStart, kThinking, kContent };
  SplitText drain(bool final);

  std::string open_, close_;
  State state_;
  bool closed_ = false;
  bool trim_leading_ = true;  // drop newlines at the start of the current field
  std::string pending_;
};

}  // namespace sputnik::server
