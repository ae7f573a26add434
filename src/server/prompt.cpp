#include "server/prompt.h"

#include "core/error.h"
#include "server/api_error.h"
#include "server/choice_stream.h"

namespace sputnik::server {
namespace {


class DecoderText : public TokenText {
 public:
  explicit DecoderText(const Tokenizer& t) : tok_(t), dec_(t, /*skip_special=*/true) {}
  std::string feed(int32_t id) override { return dec_.feed(id); }
  std::string flush() override { return dec_.flush(); }
  std::string piece(int32_t id) override {
    const int32_t one[1] = {id};
    return tok_.decode(one);
  }

 private:
  Tokenizer tok_;
  StreamingDecoder dec_;
};

}  // namespace

std::unique_ptr<TokenText> make_token_text(const Tokenizer& tokenizer) {
  return std::make_unique<DecoderText>(tokenizer);
}

PromptBuilder::PromptBuilder(Tokenizer tokenizer, ChatTemplate chat_template, std::vector<int32_t> stop_ids)
    : tok_(std::move(tokenizer)),
      template_(std::make_shared<ChatTemplate>(std::move(chat_template))),
      stop_ids_(std::move(stop_ids)) {
  if (tok_.token_id("</think>") >= 0) close_thinking_ = tok_.encode("</think>\n\n");
}

PromptBuilder::PromptBuilder(const ModelBundle& bundle)
    : PromptBuilder(bundle.require_tokenizer(), bundle.require_template(), bundle.stop_ids) {}

Prompt PromptBuilder::chat(const std::vector<ChatMessage>& messages) const {
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  for (const auto& m : messages) msgs.push_back({{"role", m.role}, {"content", m.content}});
  Prompt p;
  try {
    p.text = template_->render(msgs);
  } catch (const Error& e) {
    throw ApiError(400, fmt::format("the chat template rejected the messages: {}", e.what()));
  }
  // Message text found verbatim in the render is encoded without special tokens; the
  // template's own text around it with them.
  size_t at = 0;
  EncodeOptions special, plain;
  plain.parse_special = false;
  for (const auto& m : messages) {
    if (m.content.empty()) continue;
    const size_t found = p.text.find(m.content, at);
    if (found == std::string::npos) continue;
    tok_.encode(std::string_view(p.text).substr(at, found - at), p.ids, special);
    tok_.encode(std::string_view(p.text).substr(found, m.content.size()), p.ids, plain);
    at = found + m.content.size();
  }
  tok_.encode(std::string_view(p.text).substr(at), p.ids, special);
  p.style = ReasoningParser::style_for_prompt(p.text);
  return p;
}

Prompt PromptBuilder::completion(const std::string& text) const {
  Prompt p;
  p.text = text;
  EncodeOptions o;
  o.add_special = true;
  p.ids = tok_.encode(text, o);
  p.style = ReasoningStyle::None;
  return p;
}

}  // namespace sputnik::server
