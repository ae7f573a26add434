#pragma once
// Internal: the immutable state shared by copies of a Tokenizer, and the builder that the
// tokenizer.json and GGUF loaders fill in.
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/string_table.h"
#include "tokenizer/tokenizer.h"

namespace sputnik {

struct TokenizerData {
  std::string source;
  std::unique_ptr<BpeModel> model;
  Normalizer normalizer = Normalizer::from_steps({});
  PreTokenizer pre_tokenizer;
  std::vector<AddedToken> added;
  AddedTokenMatcher raw_matcher;         // added tokens with normalized = false
  AddedTokenMatcher normalized_matcher;  // normalized = true, matched after normalization
  std::unordered_map<std::string, int32_t> added_by_content;
  StringTable bytes;  // raw bytes per id (no index)
  std::vector<uint8_t> flags;      // per id: kKnown | kSpecial
  std::vector<int32_t> prefix, suffix;  // added around the ids by add_special
  int32_t bos = -1, eos = -1;
  static constexpr uint8_t kKnown = 1, kSpecial = 2;
};

struct TokenizerBuilder {
  std::string source;
  // Views into storage the loader keeps until build() returns (the parsed JSON, the mapped
  // GGUF): a copy of a 150k-token vocabulary would be ~15 MB more heap at the loading peak.
  std::vector<std::pair<std::string_view, int32_t>> vocab;  // byte-level strings
  std::vector<std::pair<std::string_view, std::string_view>> merges;
  bool ignore_merges = false;
  std::vector<AddedToken> added;
  Normalizer normalizer = Normalizer::from_steps({});
  PreTokenizer pre_tokenizer;
  std::vector<int32_t> prefix, suffix;
  int32_t bos = -1, eos = -1;

  // Validates and freezes; throws Error naming `source`.
  Tokenizer build();
};

}  // namespace sputnik
