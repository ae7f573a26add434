// libFuzzer: arbitrary bytes as text for a small byte-level BPE tokenizer that has DeepSeek-V3's
// pre-tokenizer regexes, NFC, and added tokens with every flag. Invariants: encode never
// throws or crashes on any bytes; with added tokens off, decode(encode(x)) is the NFC of x with
// invalid UTF-8 repaired; the streaming decoder emits only valid UTF-8 and adds up to decode.
#include <unicode/normalizer2.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace {

const sputnik::Tokenizer& tokenizer() {
  static const sputnik::Tokenizer tok = [] {
    nlohmann::json vocab = nlohmann::json::object();
    for (int b = 0; b < 256; ++b) vocab[std::string(sputnik::byte_level::char_of(static_cast<unsigned char>(b)))] = b;
    const char* words[] = {"Ġt", "he", "Ġthe", "in", "Ġa", "er", "on", "ĠĠ", "ĠĠĠĠ", "12", "123"};
    nlohmann::json merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r", "o n", "Ġ Ġ", "ĠĠ ĠĠ", "1 2", "12 3"};
    int id = 256;
    for (const char* w : words) vocab[w] = id++;
    nlohmann::json added = nlohmann::json::array();
    const char* specials[] = {"<｜User｜>", "<think>", "</think>", "<s>", "naïve", "lemon"};
    for (int i = 0; i < 6; ++i)
      added.push_back({{"id", id++}, {"content", specials[i]}, {"special", i % 2 == 0}, {"lstrip", i == 1},
                       {"rstrip", i == 2}, {"single_word", i == 5}, {"normalized", i == 4}});
    nlohmann::json tj = {
        {"added_tokens", added},
        {"normalizer", {{"type", "NFC"}}},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", "\\p{N}{1,3}"}}}, {"behavior", "Isolated"}},
            {{"type", "Split"}, {"pattern", {{"Regex", "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"}}}, {"behavior", "Isolated"}},
            {{"type", "Split"},
             {"pattern",
              {{"Regex",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
                "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}}},
             {"behavior", "Isolated"}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
        {"decoder", {{"type", "ByteLevel"}}},
        {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
    };
    return sputnik::Tokenizer::from_json(tj, nullptr, "fuzz");
  }();
  return tok;
}

std::string nfc(const std::string& s) {
  UErrorCode err = U_ZERO_ERROR;
  std::string out;
  icu::StringByteSink<std::string> sink(&out);
  icu::Normalizer2::getNFCInstance(err)->normalizeUTF8(0, icu::StringPiece(s.data(), int32_t(s.size())), sink,
                                                       nullptr, err);
  if (U_FAILURE(err)) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto& tok = tokenizer();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string repaired = sputnik::utf8::lossy(text);
  for (bool parse : {true, false}) {
    const auto ids = tok.encode(text, {.parse_special = parse});
    const std::string back = tok.decode(ids);
    // Without added tokens (which may swallow spaces: lstrip/rstrip) BPE is lossless.
    if (!parse && back != nfc(repaired)) __builtin_trap();
    sputnik::StreamingDecoder dec(tok);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string chunk = dec.feed(id);
      if (!sputnik::utf8::is_valid(chunk)) __builtin_trap();
      streamed += chunk;
    }
    streamed += dec.flush();
    if (streamed != back) __builtin_trap();
  }
  return 0;
}
