// `sputnik template`: renders a conversation with a model's chat template and prints the prompt
// (or, with --json, {"text", "ids"} using the model's tokenizer).
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>

#include "chat/chat_template.h"
#include "command.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"

#if __has_include("tokenizer/tokenizer.h")
#include "tokenizer/tokenizer.h"
#define SPUTNIK_TEMPLATE_HAS_TOKENIZER 1
#endif

namespace {

using json = nlohmann::ordered_json;

json read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) sputnik::fail("cannot read {}", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    sputnik::fail("{}: invalid JSON: {}", path, e.what());
  }
}

// A GGUF carries its template in tokenizer.chat_template and its special tokens as ids.
sputnik::ChatTemplate template_from_gguf(const std::string& path) {
  auto file = sputnik::MappedFile::open(path);
  sputnik::GgufFile g = sputnik::parse_gguf(file->data(), file->size(), path);
  const sputnik::GgufValue* tmpl = g.find("tokenizer.chat_template");
  auto token_text = [&](const char* key) -> std::optional<std::string> {
    const sputnik::GgufValue* id = g.find(key);
    const sputnik::GgufValue* tokens = g.find("tokenizer.ggml.tokens");
    if (!id || !id->is_integer() || !tokens || !tokens->as_array()) return std::nullopt;
    uint64_t i = id->as_uint();
    const auto& items = tokens->as_array()->items;
    if (i >= items.size() || !items[i].as_string()) return std::nullopt;
    return *items[i].as_string();
  };
  auto bos = token_text("tokenizer.ggml.bos_token_id");
  auto eos = token_text("tokenizer.ggml.eos_token_id");
  if (tmpl && tmpl->as_string()) return sputnik::ChatTemplate::from_string(*tmpl->as_string(), path + " tokenizer.chat_template", bos, eos);
  const sputnik::GgufValue* arch = g.find("general.architecture");
  std::string a = arch && arch->as_string() ? *arch->as_string() : "";
  // GGUF architecture names map onto the HF model types the built-in templates know.
  std::string model_type = a == "deepseek2" ? "deepseek_v3" : a;
  sputnik::ChatTemplate t = sputnik::ChatTemplate::builtin(model_type);
  return t;
}

std::function<int()> setup(CLI::App& app) {
  struct Opts {
    std::string model;
    std::string messages;
    std::string tools;
    bool add_generation_prompt = false;
    bool as_json = false;
    std::string enable_thinking;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("-m,--model", o->model, "model folder (tokenizer_config.json / chat_template.jinja) or GGUF file")
      ->required();
  app.add_option("--messages", o->messages,
                 "JSON file: an array of messages, or an object with \"messages\" (and optional \"tools\")")
      ->required();
  app.add_option("--tools", o->tools, "JSON file with an array of tool schemas");
  app.add_flag("--add-generation-prompt", o->add_generation_prompt, "end with the assistant turn's opening");
  app.add_flag("--json", o->as_json, "print {\"text\": ..., \"ids\": [...]} using the model's tokenizer");
  app.add_option("--enable-thinking", o->enable_thinking, "pass enable_thinking=true|false to the template")
      ->check(CLI::IsMember({"true", "false"}));
  return [o] {
    namespace fs = std::filesystem;
    sputnik::ChatTemplate tmpl = fs::is_directory(o->model)      ? sputnik::ChatTemplate::from_folder(o->model)
                                 : sputnik::is_gguf_file(o->model) ? template_from_gguf(o->model)
                                                                   : (sputnik::fail("{}: not a model folder or GGUF file", o->model),
                                                                      sputnik::ChatTemplate::builtin(""));
    json doc = read_json_file(o->messages);
    sputnik::ChatOptions opt;
    opt.add_generation_prompt = o->add_generation_prompt;
    json messages = doc;
    if (doc.is_object()) {
      if (!doc.contains("messages")) sputnik::fail("{}: expected an array of messages or an object with \"messages\"", o->messages);
      messages = doc["messages"];
      if (doc.contains("tools")) opt.tools = doc["tools"];
    }
    if (!o->tools.empty()) opt.tools = read_json_file(o->tools);
    if (!o->enable_thinking.empty()) opt.enable_thinking = o->enable_thinking == "true";
    std::string text = tmpl.render(messages, opt);
    if (!o->as_json) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      return 0;
    }
#ifdef SPUTNIK_TEMPLATE_HAS_TOKENIZER
    // The template already wrote BOS and other special tokens as text, so nothing is added
    // (transformers' apply_chat_template(tokenize=True) does the same).
    sputnik::Tokenizer tok = sputnik::load_tokenizer(o->model);
    sputnik::EncodeOptions eo;
    eo.add_special = false;
    eo.parse_special = true;
    std::vector<int32_t> ids = tok.encode(text, eo);
    json out = {{"text", text}, {"ids", ids}};
    std::printf("%s\n", out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    return 0;
#else
    sputnik::fail("--json needs the tokenizer, which this build does not include");
#endif
  };
}

}  // namespace

SPUTNIK_COMMAND("template", "render a conversation with the model's chat template", setup);
