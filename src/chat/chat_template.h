#pragma once
// A model's chat template: turns OpenAI-style messages into the exact prompt text the model was
// trained on, rendered the way transformers' apply_chat_template renders it (same variables:
// messages, tools, documents, add_generation_prompt, the special tokens, extra kwargs such as
// enable_thinking).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "chat/jinja.h"

namespace sputnik {

struct ChatOptions {
  bool add_generation_prompt = true;
  // Passed to the template only when set (Qwen3 tests `enable_thinking is defined`).
  std::optional<bool> enable_thinking;
  // Override the template's own special tokens (from tokenizer_config.json) when set.
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // Tool schemas (a JSON array), or null for none.
  nlohmann::ordered_json tools = nullptr;
  // Any further template variables (an object); they win over everything above.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
 public:
  // `name` appears in error messages (e.g. the file the template came from).
  static ChatTemplate from_string(std::string_view source, std::string name,
                                  std::optional<std::string> bos_token = std::nullopt,
                                  std::optional<std::string> eos_token = std::nullopt);

  // Loads a model folder's template: `chat_template.jinja` if present, else tokenizer_config.json's
  // `chat_template` (a string, or a list of {name, template} where "default" is used), else the
  // built-in template for config.json's model_type. Special tokens come from tokenizer_config.json.
  static ChatTemplate from_folder(const std::filesystem::path& dir);

  // Built-in templates for folders without one: "qwen2"/"qwen3"/"qwen2_moe" → ChatML,
  // "deepseek_v3"/"deepseek_v2"/"deepseek" → DeepSeek-R1's template. Throws for others.
  static ChatTemplate builtin(std::string_view model_type);

  // `messages` is a JSON array of message objects. Throws sputnik::Error on bad input or when
  // the template raises (raise_exception) or fails.
  std::string render(const nlohmann::ordered_json& messages, const ChatOptions& options = {}) const;

  const std::string& source() const { return source_; }
  const std::string& name() const { return name_; }
  const std::optional<std::string>& bos_token() const { return bos_token_; }
  const std::optional<std::string>& eos_token() const { return eos_token_; }

 private:
  jinja::Template tmpl_;
  std::string source_;
  std::string name_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
};

// Built-in template sources (builtin_templates.cpp).
std::string_view chatml_template_source();
std::string_view deepseek_r1_template_source();

}  // namespace sputnik
