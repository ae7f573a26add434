#include "chat/chat_template.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace sputnik {

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) fail("cannot read {}", p.string());
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

nlohmann::ordered_json read_json(const std::filesystem::path& p) {
  try {
    return nlohmann::ordered_json::parse(read_text(p));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", p.string(), e.what());
  }
}

// tokenizer_config.json writes special tokens as a string or as an AddedToken object.
std::optional<std::string> token_text(const nlohmann::ordered_json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

ChatTemplate ChatTemplate::from_string(std::string_view source, std::string name, std::optional<std::string> bos,
                                       std::optional<std::string> eos) {
  ChatTemplate t;
  t.tmpl_ = jinja::Template::parse(source, name);
  t.source_ = std::string(source);
  t.name_ = std::move(name);
  t.bos_token_ = std::move(bos);
  t.eos_token_ = std::move(eos);
  return t;
}

ChatTemplate ChatTemplate::builtin(std::string_view model_type) {
  if (model_type == "qwen2" || model_type == "qwen3" || model_type == "qwen2_moe" || model_type == "qwen3_moe")
    return from_string(chatml_template_source(), "builtin ChatML template", std::nullopt, "<|im_end|>");
  if (model_type == "deepseek_v3" || model_type == "deepseek_v2" || model_type == "deepseek")
    return from_string(deepseek_r1_template_source(), "builtin DeepSeek-R1 template", "<｜begin▁of▁sentence｜>",
                       "<｜end▁of▁sentence｜>");
  fail("no built-in chat template for model type '{}' (known: qwen2, qwen3, deepseek_v3, deepseek_v2)", model_type);
}

ChatTemplate ChatTemplate::from_folder(const std::filesystem::path& dir) {
  if (!std::filesystem::is_directory(dir)) fail("{}: not a directory", dir.string());
  nlohmann::ordered_json cfg = nlohmann::ordered_json::object();
  const auto cfg_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(cfg_path)) {
    cfg = read_json(cfg_path);
    if (!cfg.is_object()) fail("{}: expected a JSON object", cfg_path.string());
  }
  auto bos = token_text(cfg, "bos_token");
  auto eos = token_text(cfg, "eos_token");

  const auto jinja_path = dir / "chat_template.jinja";
  if (std::filesystem::exists(jinja_path)) return from_string(read_text(jinja_path), jinja_path.string(), bos, eos);

  auto it = cfg.find("chat_template");
  if (it != cfg.end() && !it->is_null()) {
    const std::string name = cfg_path.string() + " chat_template";
    if (it->is_string()) return from_string(it->get<std::string>(), name, bos, eos);
    if (it->is_array()) {
      // transformers' named templates: [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
      for (const auto& entry : *it) {
        if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
            entry["template"].is_string())
          return from_string(entry["template"].get<std::string>(), name + " 'default'", bos, eos);
      }
      fail("{}: chat_template is a list without a template named 'default'", cfg_path.string());
    }
    fail("{}: chat_template must be a string or a list of named templates", cfg_path.string());
  }

  const auto model_cfg = dir / "config.json";
  if (!std::filesystem::exists(model_cfg))
    fail("{}: no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json) and no "
         "config.json to pick a built-in one",
         dir.string());
  auto mc = read_json(model_cfg);
  std::string model_type = mc.is_object() && mc.contains("model_type") && mc["model_type"].is_string()
                               ? mc["model_type"].get<std::string>()
                               : "";
  ChatTemplate t = builtin(model_type);
  if (bos) t.bos_token_ = bos;
  if (eos) t.eos_token_ = eos;
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const ChatOptions& options) const {
  if (!messages.is_array()) fail("{}: messages must be a JSON array", name_);
  for (size_t i = 0; i < messages.size(); ++i)
    if (!messages[i].is_object()) fail("{}: message {} is not a JSON object", name_, i);
  if (!options.tools.is_null() && !options.tools.is_array()) fail("{}: tools must be a JSON array or null", name_);
  if (!options.extra.is_object()) fail("{}: extra template variables must be a JSON object", name_);

  // Same variables, in the same precedence, as transformers' apply_chat_template.
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  auto bos = options.bos_token ? options.bos_token : bos_token_;
  auto eos = options.eos_token ? options.eos_token : eos_token_;
  if (bos) ctx["bos_token"] = *bos;
  if (eos) ctx["eos_token"] = *eos;
  ctx["messages"] = messages;
  ctx["tools"] = options.tools;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = options.add_generation_prompt;
  if (options.enable_thinking) ctx["enable_thinking"] = *options.enable_thinking;
  for (auto it = options.extra.begin(); it != options.extra.end(); ++it) ctx[it.key()] = it.value();
  return tmpl_.render(ctx);
}

}  // namespace sputnik
