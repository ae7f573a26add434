// Unit checks of the tokenizer parts that the parity corpus cannot isolate: UTF-8 repair,
// the Rust/Oniguruma regex semantics on PCRE2, and error reporting.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"
#include "tokenizer/string_table.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace sputnik {
namespace {

using namespace std::string_literals;

const std::string kFFFD = "\xEF\xBF\xBD";

TEST(Utf8, LossyReplacesMaximalSubparts) {
  // The example of Unicode 15, section 3.9 (U+FFFD substitution of maximal subparts), which is
  // also what Rust's from_utf8_lossy does.
  EXPECT_EQ(utf8::lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a" + kFFFD + kFFFD + kFFFD + "b" + kFFFD + "c" + kFFFD + kFFFD + "d");
  EXPECT_EQ(utf8::lossy("\xC0\xAF"), kFFFD + kFFFD);              // overlong
  EXPECT_EQ(utf8::lossy("\xED\xA0\x80"), kFFFD + kFFFD + kFFFD);  // surrogate
  EXPECT_EQ(utf8::lossy("\xF4\x90\x80\x80"), kFFFD + kFFFD + kFFFD + kFFFD);  // > U+10FFFF
  EXPECT_EQ(utf8::lossy("\xF0\x9F\x98"), kFFFD);                  // truncated emoji
  EXPECT_EQ(utf8::lossy("ok \xF0\x9F\x98\x80"), "ok \xF0\x9F\x98\x80");
  EXPECT_TRUE(utf8::is_valid("h\xC3\xA9llo \xE4\xBD\xA0 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(utf8::is_valid("abcdefgh\xFF"));
}

TEST(Utf8, AppendLossyHoldsIncompleteTail) {
  std::string out;
  EXPECT_EQ(utf8::append_lossy(out, "a\xE4\xBD", false), 1u);
  EXPECT_EQ(out, "a");
  EXPECT_EQ(utf8::append_lossy(out, "\xE4\xBD\xA0", false), 3u);
  EXPECT_EQ(out, "a\xE4\xBD\xA0");
  out.clear();
  EXPECT_EQ(utf8::append_lossy(out, "\xE4\x41", false), 2u);  // can never complete
  EXPECT_EQ(out, kFFFD + "A");
}

TEST(ByteLevel, AlphabetRoundTrips) {
  EXPECT_EQ(byte_level::char_of(' '), "\xC4\xA0");   // 'Ġ'
  EXPECT_EQ(byte_level::char_of('\n'), "\xC4\x8A");  // 'Ċ'
  EXPECT_EQ(byte_level::char_of('a'), "a");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(char(b));
  std::string back;
  ASSERT_TRUE(byte_level::decode(byte_level::encode(all), back));
  EXPECT_EQ(back, all);
  std::string out = "x";
  EXPECT_FALSE(byte_level::decode("<\xEF\xBD\x9C>", out));  // '｜' is not in the alphabet
  EXPECT_EQ(out, "x");
}

std::vector<std::string> matches(const Regex& re, std::string_view text) {
  std::vector<std::string> out;
  re.for_each_match(text, [&](size_t s, size_t e) { out.emplace_back(text.substr(s, e - s)); });
  return out;
}

TEST(Regex, WhitespaceIsUnicodeWhiteSpaceAsInRust) {
  const Regex re("\\s+");
  // U+0085 (NEL) is White_Space: Rust/Oniguruma match it, PCRE2's own \s would not.
  EXPECT_EQ(matches(re, "a\xC2\x85" "b"), std::vector<std::string>{"\xC2\x85"});
  EXPECT_EQ(matches(re, "a\xC2\xA0\xE3\x80\x80\xE2\x80\xA8" "b"),
            std::vector<std::string>{"\xC2\xA0\xE3\x80\x80\xE2\x80\xA8"});
  // U+FEFF, U+200B, U+180E are not White_Space (JavaScript's \s does match U+FEFF).
  EXPECT_TRUE(matches(re, "\xEF\xBB\xBF\xE2\x80\x8B\xE1\xA0\x8E").empty());
  const Regex not_space("\\S+");
  EXPECT_EQ(matches(not_space, "x\xC2\x85y"), (std::vector<std::string>{"x", "y"}));
  const Regex in_class("[^\\s\\p{L}]+");
  EXPECT_EQ(matches(in_class, "ab\xC2\x85" "12 c"), std::vector<std::string>{"12"});
}

TEST(Regex, LookaheadAndCaseInsensitiveContractions) {
  const Regex ws("\\s+(?!\\S)|\\s+");
  EXPECT_EQ(matches(ws, "a   b"), (std::vector<std::string>{"  ", " "}));
  const Regex c("(?i:'s|'t|'re|'ve|'m|'ll|'d)");
  EXPECT_EQ(matches(c, "it'S we'LL x'\xC5\xBF"), (std::vector<std::string>{"'S", "'LL", "'\xC5\xBF"}));  // 'ſ
  const Regex u("[\\u4e00-\\u9fa5]+");  // Oniguruma's \uHHHH escapes
  EXPECT_EQ(matches(u, "ab\xE4\xBD\xA0\xE5\xA5\xBD" "cd"), std::vector<std::string>{"\xE4\xBD\xA0\xE5\xA5\xBD"});
  EXPECT_THROW(Regex("(unclosed"), Error);
}

// A minimal byte-level tokenizer.json: the 256 byte tokens plus a few merges.
nlohmann::json tiny_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[std::string(byte_level::char_of(static_cast<unsigned char>(b)))] = b;
  vocab["he"] = 256;
  vocab["ll"] = 257;
  vocab["hell"] = 258;
  vocab["hello"] = 259;
  return {
      {"added_tokens", {{{"id", 260}, {"content", "<s>"}, {"special", true}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {260}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"h e", {"l", "l"}, "he ll", "hell o"}}}},
  };
}

TEST(StringTable, FindsByTextAndById) {
  StringTable t(6);
  t.add(0, "a");
  t.add(2, "hello");
  t.add(3, "");          // an empty string is a string
  t.add(4, "hel\0lo"s.substr(0, 6));  // bytes, not C strings
  t.build_index();
  EXPECT_EQ(t.ids(), 6u);
  EXPECT_EQ(t.at(2), "hello");
  EXPECT_EQ(t.at(4), std::string_view("hel\0lo", 6));
  EXPECT_TRUE(t.has(3));
  EXPECT_FALSE(t.has(1));
  EXPECT_FALSE(t.has(6));
  EXPECT_FALSE(t.has(-1));
  EXPECT_EQ(t.at(1), "");
  EXPECT_EQ(t.at(99), "");
  EXPECT_EQ(t.find("hello"), 2);
  EXPECT_EQ(t.find(std::string_view("hel\0lo", 6)), 4);
  EXPECT_EQ(t.find("hel"), -1);
  EXPECT_EQ(t.find(""), 3);
  EXPECT_EQ(t.find("b"), -1);
  EXPECT_THROW(t.add(6, "x"), Error);
  EXPECT_THROW(t.add(-1, "x"), Error);
}

TEST(StringTable, LastAddWinsAsInAMapAssignedInOrder) {
  StringTable t(3);
  t.add(0, "x");
  t.add(1, "x");  // the same text for two ids: find answers the later
  t.add(2, "y");
  t.add(2, "z");  // a second text for an id: at answers the later, both find it
  t.build_index();
  EXPECT_EQ(t.find("x"), 1);
  EXPECT_EQ(t.at(0), "x");
  EXPECT_EQ(t.at(2), "z");
  EXPECT_EQ(t.find("y"), 2);
  EXPECT_EQ(t.find("z"), 2);
}

TEST(StringTable, ManyStrings) {
  const int n = 200000;
  StringTable t(n);
  for (int i = 0; i < n; ++i) t.add(i, std::to_string(i * 7919));
  t.build_index();
  for (int i = 0; i < n; i += 997) {
    EXPECT_EQ(t.find(std::to_string(i * 7919)), i);
    EXPECT_EQ(t.at(i), std::to_string(i * 7919));
  }
  EXPECT_EQ(t.find("-1"), -1);
  // Far below the ~70 bytes a token of std::string keys in a hash map cost.
  EXPECT_LT(t.heap_bytes(), size_t(n) * 40);
}

TEST(Tokenizer, TinyModelMergesAndTemplate) {
  const Tokenizer tok = Tokenizer::from_json(tiny_tokenizer());
  EXPECT_EQ(tok.encode("hello"), std::vector<int32_t>{259});
  EXPECT_EQ(tok.encode("hellx"), (std::vector<int32_t>{258, 'x'}));
  EXPECT_EQ(tok.encode("<s>hello", {.add_special = true}), (std::vector<int32_t>{260, 260, 259}));
  EXPECT_EQ(tok.encode("<s>", {.parse_special = false}), (std::vector<int32_t>{'<', 's', '>'}));
  EXPECT_EQ(tok.bos_id(), 260);
  EXPECT_EQ(tok.decode(std::vector<int32_t>{260, 259}, true), "hello");
  EXPECT_EQ(tok.decode(std::vector<int32_t>{260, 259, 99999, -1}), "<s>hello");
  EXPECT_EQ(tok.token_id("hell"), 258);
  EXPECT_EQ(tok.token_id(" "), ' ');  // by text, through the byte-level alphabet
  EXPECT_EQ(tok.token_id("nope"), -1);
  // Invalid UTF-8 input is repaired (U+FFFD), never a crash.
  EXPECT_EQ(tok.decode(tok.encode("a\xFF" "b")), "a" + kFFFD + "b");
}

TEST(Tokenizer, BadFilesGiveClearErrors) {
  auto bad = tiny_tokenizer();
  bad["model"]["merges"].push_back("x nothere");
  try {
    Tokenizer::from_json(bad, nullptr, "my/tokenizer.json");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("my/tokenizer.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nothere"), std::string::npos) << e.what();
  }
  bad = tiny_tokenizer();
  bad["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_THROW(Tokenizer::from_json(bad), Error);
  bad = tiny_tokenizer();
  bad["model"]["type"] = "Unigram";
  EXPECT_THROW(Tokenizer::from_json(bad), Error);
  bad = tiny_tokenizer();
  bad["model"].erase("vocab");
  EXPECT_THROW(Tokenizer::from_json(bad), Error);
  EXPECT_THROW(Tokenizer::from_files("/nonexistent/tokenizer.json", ""), Error);
  EXPECT_THROW(load_tokenizer("/nonexistent/model"), Error);
  EXPECT_THROW(Tokenizer::from_gguf_metadata({{"tokenizer.ggml.model", "llama"}}), Error);
  EXPECT_THROW(Tokenizer::from_gguf_metadata({{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "qwen2"}}),
               Error);
}

}  // namespace
}  // namespace sputnik
