// Building a Tokenizer from a GGUF file's tokenizer.ggml.* metadata (the vocabulary that
// llama.cpp's converter copied from tokenizer.json). The pre-tokenizer is not stored in the
// file, only its name (`tokenizer.ggml.pre`); each name maps to the Split regexes of the
// tokenizer.json it was converted from.
#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_data.h"

namespace sputnik {

namespace {

// GGUF token types (llama.cpp's llama_token_type).
enum : int { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

constexpr const char* kQwen2Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDeepSeekV3Patterns[] = {
    R"(\p{N}{1,3})",
    "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^)"
    "\r\n"
    R"(\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[)"
    "\r\n"
    R"(]*|\s*[)"
    "\r\n"
    R"(]+|\s+(?!\S)|\s+)",
};
// DeepSeek LLM / Coder (V1, V2): the Split regexes of their tokenizer.json files.
constexpr const char* kDeepSeekLlmPatterns[] = {
    "[\r\n]",
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-"
    "ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-"
    "ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
    "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
    "\\s+$",
    "[一-龥ࠀ-一가-퟿]+",
    "\\p{N}+",
};
constexpr const char* kDeepSeekCoderPatterns[] = {
    "[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}",
};

struct PreConfig {
  PreTokenizer pre;
  Normalizer normalizer = Normalizer::from_steps({});
  bool ignore_merges = false;
};

template <size_t N>
std::vector<PreTokenizer::Step> splits(const char* const (&patterns)[N]) {
  std::vector<PreTokenizer::Step> steps;
  for (const char* p : patterns) steps.push_back(PreTokenizer::split_step(p));
  return steps;
}

PreConfig pre_config(const std::string& name) {
  PreConfig c;
  std::vector<PreTokenizer::Step> steps;
  if (name == "deepseek-v3") {
    steps = splits(kDeepSeekV3Patterns);
  } else if (name == "deepseek-llm") {
    steps = splits(kDeepSeekLlmPatterns);
  } else if (name == "deepseek-coder") {
    steps = splits(kDeepSeekCoderPatterns);
  } else if (name == "qwen2" || name == "deepseek-r1-qwen") {
    steps.push_back(PreTokenizer::split_step(kQwen2Pattern));
    c.normalizer = Normalizer::from_steps({Normalizer::Step::NFC});
  } else if (name == "llama3" || name == "llama-v3" || name == "llama-bpe") {
    steps.push_back(PreTokenizer::split_step(kLlama3Pattern));
    c.ignore_merges = true;
  } else if (name == "gpt-2" || name == "default") {
    steps.push_back(PreTokenizer::byte_level_step(false, true));
    c.pre = PreTokenizer::from_steps(std::move(steps));
    return c;
  } else {
    fail("GGUF tokenizer.ggml.pre '{}' is not supported (supported: deepseek-v3, deepseek-llm, deepseek-coder, "
         "qwen2, deepseek-r1-qwen, llama-bpe, gpt-2)",
         name);
  }
  steps.push_back(PreTokenizer::byte_level_step(false, false));
  c.pre = PreTokenizer::from_steps(std::move(steps));
  return c;
}

int32_t optional_id(const nlohmann::json& m, const char* key) {
  if (!m.contains(key) || !m[key].is_number_integer()) return -1;
  return m[key].get<int32_t>();
}

}  // namespace

namespace {

std::string source_of(const nlohmann::json& m) {
  return m.is_object() && m.contains("general.name") && m["general.name"].is_string()
             ? "GGUF tokenizer of " + m["general.name"].get<std::string>()
             : std::string("GGUF tokenizer");
}

}  // namespace

Tokenizer Tokenizer::from_gguf_metadata(const nlohmann::json& m) {
  const std::string source = source_of(m);
  if (!m.is_object()) fail("{}: metadata is not an object", source);
  GgufVocabulary v;
  if (m.contains("tokenizer.ggml.tokens") && m["tokenizer.ggml.tokens"].is_array()) {
    const auto& tokens = m["tokenizer.ggml.tokens"];
    v.tokens.reserve(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (!tokens[i].is_string()) fail("{}: token {} is not a string", source, i);
      v.tokens.push_back(tokens[i].get_ref<const std::string&>());
    }
  }
  if (m.contains("tokenizer.ggml.token_type")) {
    const auto& types = m["tokenizer.ggml.token_type"];
    if (!types.is_array()) fail("{}: tokenizer.ggml.token_type is not an array", source);
    for (const auto& t : types) {
      if (!t.is_number_integer()) fail("{}: tokenizer.ggml.token_type holds a non-integer", source);
      v.token_types.push_back(t.get<int64_t>());
    }
  }
  if (m.contains("tokenizer.ggml.merges")) {
    const auto& merges = m["tokenizer.ggml.merges"];
    if (!merges.is_array()) fail("{}: tokenizer.ggml.merges is not an array", source);
    v.merges.reserve(merges.size());
    for (const auto& mj : merges) {
      if (!mj.is_string()) fail("{}: tokenizer.ggml.merges holds a non-string", source);
      v.merges.push_back(mj.get_ref<const std::string&>());
    }
  }
  return from_gguf(m, v);
}

Tokenizer Tokenizer::from_gguf(const nlohmann::json& m, const GgufVocabulary& v) {
  const std::string source = source_of(m);
  if (!m.is_object()) fail("{}: metadata is not an object", source);
  const std::string model = m.value("tokenizer.ggml.model", "");
  if (model != "gpt2")
    fail("{}: tokenizer.ggml.model '{}' is not supported (only byte-level BPE, 'gpt2')", source, model);
  if (v.tokens.empty()) fail("{}: tokenizer.ggml.tokens is missing", source);
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size())
    fail("{}: tokenizer.ggml.token_type has {} entries for {} tokens", source, v.token_types.size(), v.tokens.size());
  if (v.tokens.size() > size_t(INT32_MAX)) fail("{}: {} tokens are too many", source, v.tokens.size());

  PreConfig pc = pre_config(m.value("tokenizer.ggml.pre", std::string("default")));
  TokenizerBuilder b;
  b.source = source;
  b.pre_tokenizer = std::move(pc.pre);
  b.normalizer = std::move(pc.normalizer);
  b.ignore_merges = pc.ignore_merges;
  b.vocab.reserve(v.tokens.size());
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const std::string_view tok = v.tokens[i];
    const int64_t type = v.token_types.empty() ? kNormal : v.token_types[i];
    if (type == kControl || type == kUserDefined) {
      AddedToken t;
      t.id = int32_t(i);
      t.content = std::string(tok);
      t.special = type == kControl;
      b.added.push_back(std::move(t));
    }
    b.vocab.emplace_back(tok, int32_t(i));
  }
  b.merges.reserve(v.merges.size());
  for (const std::string_view s : v.merges) {
    const size_t sp = s.find(' ');
    if (sp == std::string_view::npos) fail("{}: merge '{}' is not two tokens separated by a space", source, s);
    b.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
  }
  b.bos = optional_id(m, "tokenizer.ggml.bos_token_id");
  b.eos = optional_id(m, "tokenizer.ggml.eos_token_id");
  const int32_t n = int32_t(v.tokens.size());
  if (b.bos >= n || b.eos >= n) fail("{}: bos/eos token id out of range", source);
  if (m.value("tokenizer.ggml.add_bos_token", false) && b.bos >= 0) b.prefix.push_back(b.bos);
  if (m.value("tokenizer.ggml.add_eos_token", false) && b.eos >= 0) b.suffix.push_back(b.eos);
  return b.build();
}

}  // namespace sputnik
