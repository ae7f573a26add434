// Building a Tokenizer from Hugging Face tokenizer.json (+ tokenizer_config.json).
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_data.h"

namespace sputnik {

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not valid JSON: {}", path, e.what());
  }
}

// A token named in tokenizer_config.json: a plain string or an AddedToken object.
std::string token_content(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return {};
}

// What the post-processor adds around a single sequence.
void post_processor(const nlohmann::json& j, TokenizerBuilder& b) {
  if (j.is_null()) return;
  const std::string type = j.value("type", "");
  if (type == "Sequence") {
    for (const auto& p : j.at("processors")) post_processor(p, b);
  } else if (type == "ByteLevel") {
    // offsets only
  } else if (type == "TemplateProcessing") {
    const auto& specials = j.at("special_tokens");
    bool after = false;
    for (const auto& item : j.at("single")) {
      if (item.contains("Sequence")) {
        after = true;
        continue;
      }
      if (!item.contains("SpecialToken")) fail("{}: unknown TemplateProcessing item {}", b.source, item.dump());
      const std::string name = item["SpecialToken"].at("id").get<std::string>();
      if (!specials.contains(name)) fail("{}: TemplateProcessing names unknown special token '{}'", b.source, name);
      for (const auto& id : specials[name].at("ids")) (after ? b.suffix : b.prefix).push_back(id.get<int32_t>());
    }
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    b.prefix.push_back(j.at("cls").at(1).get<int32_t>());
    b.suffix.push_back(j.at("sep").at(1).get<int32_t>());
  } else {
    fail("{}: post_processor '{}' is not supported", b.source, type);
  }
}

}  // namespace

Tokenizer Tokenizer::from_json(const nlohmann::json& tj, const nlohmann::json& config, const std::string& source) {
  TokenizerBuilder b;
  b.source = source;
  try {
    const auto& model = tj.at("model");
    const std::string type = model.value("type", "BPE");
    if (type != "BPE") fail("{}: model type '{}' is not supported (only BPE)", source, type);
    if (model.contains("byte_fallback") && model["byte_fallback"].is_boolean() && model["byte_fallback"].get<bool>())
      fail("{}: byte_fallback BPE (SentencePiece style) is not supported", source);
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
        fail("{}: BPE {} is not supported", source, key);
    }
    b.ignore_merges = model.value("ignore_merges", false);
    const auto& vocab = model.at("vocab");
    if (!vocab.is_object()) fail("{}: model.vocab must be an object", source);
    b.vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) b.vocab.emplace_back(it.key(), it.value().get<int32_t>());
    const auto& merges = model.at("merges");
    b.merges.reserve(merges.size());
    for (const auto& m : merges) {
      if (m.is_string()) {
        const std::string_view s = m.get_ref<const std::string&>();
        const size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          fail("{}: merge '{}' is not two tokens separated by a space", source, s);
        b.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        b.merges.emplace_back(m[0].get_ref<const std::string&>(), m[1].get_ref<const std::string&>());
      } else {
        fail("{}: bad merge entry {}", source, m.dump());
      }
    }
    if (tj.contains("added_tokens")) {
      for (const auto& a : tj["added_tokens"]) {
        AddedToken t;
        t.id = a.at("id").get<int32_t>();
        t.content = a.at("content").get<std::string>();
        t.special = a.value("special", false);
        t.lstrip = a.value("lstrip", false);
        t.rstrip = a.value("rstrip", false);
        t.single_word = a.value("single_word", false);
        t.normalized = a.value("normalized", !t.special);
        b.added.push_back(std::move(t));
      }
    }
    b.normalizer = Normalizer::from_json(tj.value("normalizer", nlohmann::json()));
    b.pre_tokenizer = PreTokenizer::from_json(tj.value("pre_tokenizer", nlohmann::json()));
    post_processor(tj.value("post_processor", nlohmann::json()), b);
    if (tj.contains("decoder") && !tj["decoder"].is_null()) {
      const auto& dec = tj["decoder"];
      const std::string dt = dec.value("type", "");
      bool byte_level = dt == "ByteLevel";
      if (dt == "Sequence")
        for (const auto& x : dec.at("decoders")) byte_level |= x.value("type", "") == "ByteLevel";
      if (!byte_level) fail("{}: decoder '{}' is not supported (only ByteLevel)", source, dt);
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: malformed tokenizer.json: {}", source, e.what());
  }

  auto find_id = [&](const std::string& content) -> int32_t {
    for (const AddedToken& t : b.added)
      if (t.content == content) return t.id;
    for (const auto& [tok, id] : b.vocab)
      if (tok == content) return id;
    return -1;
  };
  if (b.prefix.size() == 1) b.bos = b.prefix[0];
  if (config.is_object()) {
    // transformers' Llama-style fast tokenizers rebuild the post-processor from these flags.
    const std::string bos = config.contains("bos_token") ? token_content(config["bos_token"]) : "";
    const std::string eos = config.contains("eos_token") ? token_content(config["eos_token"]) : "";
    if (!bos.empty()) b.bos = find_id(bos);
    if (!eos.empty()) b.eos = find_id(eos);
    if (!bos.empty() && b.bos < 0) fail("{}: bos_token '{}' is not a token", source, bos);
    if (!eos.empty() && b.eos < 0) fail("{}: eos_token '{}' is not a token", source, eos);
    const bool has_bos_flag = config.contains("add_bos_token") && config["add_bos_token"].is_boolean();
    const bool has_eos_flag = config.contains("add_eos_token") && config["add_eos_token"].is_boolean();
    if (has_bos_flag || has_eos_flag) {
      const bool add_bos = has_bos_flag && config["add_bos_token"].get<bool>();
      const bool add_eos = has_eos_flag && config["add_eos_token"].get<bool>();
      if (add_bos && b.bos < 0) fail("{}: add_bos_token is set but there is no bos_token", source);
      if (add_eos && b.eos < 0) fail("{}: add_eos_token is set but there is no eos_token", source);
      b.prefix.clear();
      b.suffix.clear();
      if (add_bos) b.prefix.push_back(b.bos);
      if (add_eos) b.suffix.push_back(b.eos);
    }
  }
  return b.build();
}

Tokenizer Tokenizer::from_files(const std::string& tokenizer_json, const std::string& config_json) {
  const nlohmann::json tj = read_json(tokenizer_json);
  nlohmann::json config;
  if (!config_json.empty()) config = read_json(config_json);
  return from_json(tj, config, tokenizer_json);
}

Tokenizer Tokenizer::from_folder(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path dir(path);
  const fs::path tj = dir / "tokenizer.json";
  if (!fs::exists(tj)) fail("{}: no tokenizer.json in this folder", path);
  const fs::path cfg = dir / "tokenizer_config.json";
  return from_files(tj.string(), fs::exists(cfg) ? cfg.string() : std::string());
}

}  // namespace sputnik
