// HF tokenizer.json -> tokenizer.ggml.* metadata, read directly with nlohmann (no tokenizer
// class needed: GGUF stores the vocabulary and merges as they are).
#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "formats/gguf_export.h"

namespace sputnik {
namespace {

using nlohmann::json;

enum TokenType : int32_t { kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5 };

json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) fail("{}: cannot open", p.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    fail("{}: invalid JSON: {}", p.string(), e.what());
  }
}

// Added tokens that are special in all but name (the converter's does_token_look_special).
bool looks_special(const std::string& t) {
  if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
  return t.size() >= 4 && t.starts_with("<|") && t.ends_with("|>");
}

// llama.cpp picks the pre-tokenizer by hashing the tokenization of a test text; without the
// HF tokenizer library we recognise the regexes of the families sputnik runs instead.
std::string guess_pre(const json& tok, const std::string& model_type) {
  const std::string pre = tok.contains("pre_tokenizer") ? tok["pre_tokenizer"].dump() : "";
  const bool deepseek_v3_splits = pre.find("\\\\p{N}{1,3}") != std::string::npos &&
                                  pre.find("[\\\\p{P}\\\\p{S}]") != std::string::npos;
  const bool deepseek_llm_splits = pre.find("[\\\\r\\\\n]") != std::string::npos &&
                                   pre.find("\\\\s?[A-Za-z") != std::string::npos;
  if (model_type == "qwen2") return deepseek_v3_splits ? "deepseek-r1-qwen" : "qwen2";
  if (deepseek_llm_splits) return "deepseek-llm";
  if (deepseek_v3_splits || model_type == "deepseek_v3") return "deepseek-v3";
  return "deepseek-llm";
}

std::string merge_string(const json& m, const std::string& file) {
  if (m.is_string()) return m.get<std::string>();
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    // Pairs (transformers >= 4.45) may hold spaces; llama.cpp's space-separated format encodes
    // them as U+0120 ('Ġ', the byte-level stand-in for a space).
    auto enc = [](const std::string& s) {
      std::string out;
      for (char c : s) out += c == ' ' ? std::string("\xC4\xA0") : std::string(1, c);
      return out;
    };
    return enc(m[0].get<std::string>()) + " " + enc(m[1].get<std::string>());
  }
  fail("{}: unknown merges format", file);
}

}  // namespace

std::vector<GgufKv> hf_tokenizer_to_gguf(const std::string& dir, const json& config,
                                         int64_t vocab_size, const std::string& pre_override) {
  namespace fs = std::filesystem;
  const fs::path tok_path = fs::path(dir) / "tokenizer.json";
  if (!fs::exists(tok_path)) return {};
  const json tok = read_json(tok_path);
  const std::string file = tok_path.string();
  if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object())
    fail("{}: no tokenizer model", file);
  const json& model = tok["model"];
  if (model.value("type", "BPE") != "BPE")
    fail("{}: tokenizer model '{}' is not BPE (only byte-level BPE can be written)", file,
         model.value("type", ""));
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("{}: model.vocab missing", file);

  std::map<int64_t, std::string> by_id;
  for (const auto& [text, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) fail("{}: vocab id of '{}' is not an integer", file, text);
    by_id[id.get<int64_t>()] = text;
  }
  std::map<int64_t, bool> added_special;  // id -> special
  const json added = tok.value("added_tokens", json::array());
  for (const json& a : added) {
    if (!a.is_object() || !a.contains("id") || !a.contains("content")) continue;
    const int64_t id = a["id"].get<int64_t>();
    by_id[id] = a["content"].get<std::string>();
    added_special[id] = a.value("special", false);
  }
  if (!by_id.empty() && by_id.rbegin()->first >= vocab_size)
    fail("{}: token id {} is beyond the model's vocab_size {}", file, by_id.rbegin()->first, vocab_size);

  std::vector<GgufValue> tokens, types;
  tokens.reserve(size_t(vocab_size));
  types.reserve(size_t(vocab_size));
  for (int64_t i = 0; i < vocab_size; ++i) {
    auto it = by_id.find(i);
    int32_t type = kNormal;
    std::string text;
    if (it == by_id.end()) {
      text = "[PAD" + std::to_string(i) + "]";
      type = kUnused;
    } else {
      text = it->second;
      if (auto a = added_special.find(i); a != added_special.end())
        type = a->second || looks_special(text) ? kControl : kUserDefined;
    }
    tokens.push_back(GgufValue::str(std::move(text)));
    types.push_back(GgufValue::i32(type));
  }

  std::vector<GgufKv> kv;
  kv.emplace_back("tokenizer.ggml.model", GgufValue::str("gpt2"));
  kv.emplace_back("tokenizer.ggml.pre",
                  GgufValue::str(pre_override.empty() ? guess_pre(tok, config.value("model_type", ""))
                                                      : pre_override));
  kv.emplace_back("tokenizer.ggml.tokens", GgufValue::array(GgufType::STRING, std::move(tokens)));
  kv.emplace_back("tokenizer.ggml.token_type", GgufValue::array(GgufType::I32, std::move(types)));
  if (model.contains("merges") && model["merges"].is_array() && !model["merges"].empty()) {
    std::vector<GgufValue> merges;
    merges.reserve(model["merges"].size());
    for (const json& m : model["merges"]) merges.push_back(GgufValue::str(merge_string(m, file)));
    kv.emplace_back("tokenizer.ggml.merges", GgufValue::array(GgufType::STRING, std::move(merges)));
  }

  // Special tokens: tokenizer_config.json names them by content, config.json by id.
  static constexpr std::pair<const char*, const char*> kSpecial[] = {
      {"bos", "tokenizer.ggml.bos_token_id"},     {"eos", "tokenizer.ggml.eos_token_id"},
      {"unk", "tokenizer.ggml.unknown_token_id"}, {"sep", "tokenizer.ggml.seperator_token_id"},
      {"pad", "tokenizer.ggml.padding_token_id"}, {"mask", "tokenizer.ggml.mask_token_id"},
  };
  std::map<std::string, int64_t> ids;
  std::vector<GgufKv> flags;
  std::optional<std::string> chat_template;
  const fs::path cfg_path = fs::path(dir) / "tokenizer_config.json";
  if (fs::exists(cfg_path)) {
    const json tc = read_json(cfg_path);
    if (tc.contains("chat_template")) {
      const json& t = tc["chat_template"];
      if (t.is_string()) chat_template = t.get<std::string>();
      else if (t.is_array())
        for (const json& c : t)
          if (c.is_object() && c.value("name", "") == "default" && c.contains("template"))
            chat_template = c["template"].get<std::string>();
    }
    for (auto [typ, key] : kSpecial) {
      const std::string t = typ;
      if (auto f = tc.find("add_" + t + "_token"); f != tc.end() && f->is_boolean() && (t == "bos" || t == "eos"))
        flags.emplace_back("tokenizer.ggml.add_" + t + "_token", GgufValue::boolean(f->get<bool>()));
      auto e = tc.find(t + "_token");
      if (e == tc.end()) continue;
      std::string content;
      if (e->is_string()) content = e->get<std::string>();
      else if (e->is_object() && e->contains("content") && (*e)["content"].is_string())
        content = (*e)["content"].get<std::string>();
      else continue;
      for (const json& a : added)
        if (a.is_object() && a.value("content", "") == content && a.contains("id")) {
          ids.emplace(t, a["id"].get<int64_t>());
          break;
        }
    }
  }
  for (auto [typ, key] : kSpecial) {
    auto f = config.find(std::string(typ) + "_token_id");
    if (f != config.end() && f->is_number_integer() && !ids.count(typ)) ids.emplace(typ, f->get<int64_t>());
  }
  for (auto [typ, key] : kSpecial) {
    auto it = ids.find(typ);
    if (it == ids.end()) continue;
    if (it->second < 0 || it->second >= vocab_size)
      fail("{}: {} token id {} is outside the vocabulary", file, typ, it->second);
    kv.emplace_back(key, GgufValue::u32(uint32_t(it->second)));
  }
  for (auto& f : flags) kv.push_back(std::move(f));
  if (chat_template) kv.emplace_back("tokenizer.chat_template", GgufValue::str(*chat_template));
  return kv;
}

}  // namespace sputnik
