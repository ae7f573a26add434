#include "server/prompt.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "server/api_error.h"
#include "server/choice_stream.h"

namespace sputnik::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// ChatML as Qwen2.5/QwQ use it (QwQ's generation prompt opens the thinking).
constexpr const char* kChatML =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

// DeepSeek-R1's turn markers; the generation prompt opens the thinking as R1's template does.
constexpr const char* kDeepSeek =
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{%- if message.role == 'system' %}{{- message.content }}"
    "{%- elif message.role == 'user' %}{{- '<｜User｜>' + message.content }}"
    "{%- else %}{{- '<｜Assistant｜>' + message.content + '<｜end▁of▁sentence｜>' }}{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<｜Assistant｜><think>\\n' }}{%- endif %}";

std::string token_text_field(const json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return "";
}

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

PromptBuilder::PromptBuilder(Tokenizer tokenizer, const std::string& model_path)
    : tok_(std::move(tokenizer)) {
  std::string source;
  std::error_code ec;
  const fs::path dir = fs::is_directory(model_path, ec) ? fs::path(model_path)
                                                        : fs::path(model_path).parent_path();
  const fs::path cfg_path = dir / "tokenizer_config.json";
  if (fs::exists(cfg_path, ec)) {
    std::ifstream in(cfg_path);
    json cfg = json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (cfg.is_discarded()) fail("{}: not valid JSON", cfg_path.string());
    bos_ = token_text_field(cfg, "bos_token");
    eos_ = token_text_field(cfg, "eos_token");
    if (auto it = cfg.find("chat_template"); it != cfg.end()) {
      if (it->is_string()) {
        source = it->get<std::string>();
      } else if (it->is_array()) {  // [{"name": "default", "template": ...}, ...]
        for (const auto& t : *it)
          if (t.is_object() && t.value("name", "") == "default" && t["template"].is_string())
            source = t["template"].get<std::string>();
      }
    }
  }
  if (source.empty()) source = tok_.token_id("<|im_start|>") >= 0 ? kChatML : kDeepSeek;
  if (bos_.empty() && tok_.bos_id() >= 0) bos_ = tok_.token_to_piece(tok_.bos_id());
  if (eos_.empty() && tok_.eos_id() >= 0) eos_ = tok_.token_to_piece(tok_.eos_id());
  template_ = std::make_shared<jinja::Template>(jinja::Template::parse(source, "chat_template"));
  init_ids();
}

PromptBuilder::PromptBuilder(Tokenizer tokenizer, const std::string& chat_template, std::string bos,
                             std::string eos)
    : tok_(std::move(tokenizer)), bos_(std::move(bos)), eos_(std::move(eos)) {
  template_ = std::make_shared<jinja::Template>(jinja::Template::parse(chat_template, "chat_template"));
  init_ids();
}

void PromptBuilder::init_ids() {
  auto add = [&](int32_t id) {
    if (id >= 0 && std::find(stop_ids_.begin(), stop_ids_.end(), id) == stop_ids_.end())
      stop_ids_.push_back(id);
  };
  add(tok_.eos_id());
  if (!eos_.empty()) add(tok_.token_id(eos_));
  for (const char* t : {"<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>", "<|eot_id|>"})
    add(tok_.token_id(t));
  if (tok_.token_id("</think>") >= 0) close_thinking_ = tok_.encode("</think>\n\n");
}

Prompt PromptBuilder::chat(const std::vector<ChatMessage>& messages) const {
  nlohmann::ordered_json ctx;
  ctx["messages"] = nlohmann::ordered_json::array();
  for (const auto& m : messages)
    ctx["messages"].push_back({{"role", m.role}, {"content", m.content}});
  ctx["add_generation_prompt"] = true;
  ctx["bos_token"] = bos_;
  ctx["eos_token"] = eos_;
  Prompt p;
  try {
    p.text = template_->render(ctx);
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
  // Thinking opened by the prompt: "<think>" with only blank space after it.
  std::string_view t = p.text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ' || t.back() == '\r')) t.remove_suffix(1);
  p.starts_in_thinking = t.ends_with("<think>");
  return p;
}

Prompt PromptBuilder::completion(const std::string& text) const {
  Prompt p;
  p.text = text;
  EncodeOptions o;
  o.add_special = true;
  p.ids = tok_.encode(text, o);
  return p;
}

}  // namespace sputnik::server
