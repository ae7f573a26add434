#pragma once
// Byte-level BPE tokenizer giving exactly the ids of Hugging Face `tokenizers` (the Rust
// library) for tokenizer.json files of DeepSeek-V3/R1/V2 and Qwen2/QwQ/Qwen3, and the same
// tokenizer rebuilt from a GGUF's tokenizer.ggml.* metadata.
//
// encode: added tokens are cut out of the raw text first (leftmost-longest, lstrip/rstrip/
// single_word), the rest is normalized (NFC for Qwen), cut into words by the pre-tokenizer
// regexes, and each word's bytes are merged by BPE. Tokenizers are cheap to copy (shared,
// immutable state) and safe to use from several threads at once.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sputnik {

struct EncodeOptions {
  // Add what the post-processor adds (BOS for DeepSeek; nothing for Qwen).
  bool add_special = false;
  // false: text that spells an added token ("<｜User｜>", "<think>", "<|im_end|>" typed by a
  // user) is tokenized as plain text -- the prompt-injection guard. All added tokens are
  // ignored, not only those flagged special: DeepSeek's <｜User｜> and <think> are flagged
  // non-special, so HF's encode_special_tokens alone would let them through.
  bool parse_special = true;
};

struct TokenizerData;

class Tokenizer {
 public:
  // tokenizer.json (+ optional tokenizer_config.json, "" for none: it supplies bos/eos and
  // add_bos_token/add_eos_token as transformers applies them). Throws Error naming the file.
  static Tokenizer from_files(const std::string& tokenizer_json, const std::string& tokenizer_config_json_or_empty);
  // A folder holding tokenizer.json and optionally tokenizer_config.json.
  static Tokenizer from_folder(const std::string& path);
  // Already-parsed documents; `source` names them in error messages.
  static Tokenizer from_json(const nlohmann::json& tokenizer, const nlohmann::json& config = nullptr,
                             const std::string& source = "tokenizer.json");
  // GGUF key/values (tokenizer.ggml.model/tokens/token_type/merges/pre/bos_token_id/...).
  static Tokenizer from_gguf_metadata(const nlohmann::json& metadata);
  // The same with the per-token arrays given apart (the metadata's copies, if any, are not
  // read): views into the mapped file, so that a 150k vocabulary is not first copied as strings.
  struct GgufVocabulary {
    std::vector<std::string_view> tokens;
    std::vector<int64_t> token_types;  // empty: all normal
    std::vector<std::string_view> merges;
  };
  static Tokenizer from_gguf(const nlohmann::json& metadata, const GgufVocabulary& vocabulary);

  std::vector<int32_t> encode(std::string_view text, EncodeOptions options = {}) const;
  // Appends to `out` (no allocation when `out` has room).
  void encode(std::string_view text, std::vector<int32_t>& out, EncodeOptions options = {}) const;

  // Text of the ids; invalid UTF-8 becomes U+FFFD as in HF. Ids that name no token are
  // skipped (as HF does), with skip_special also the special tokens.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // The raw bytes of one token (may be part of a UTF-8 character); "" for unknown ids.
  std::string_view token_to_piece(int32_t id) const;

  int32_t vocab_size() const;  // highest id + 1
  int32_t bos_id() const;      // -1 when the tokenizer has none
  int32_t eos_id() const;
  // Id of a token written as in the vocabulary file ("<think>", "Ġthe") or as its text
  // (" the"); -1 when there is no such single token.
  int32_t token_id(std::string_view token) const;
  bool is_special(int32_t id) const;
  const std::string& source() const;

 private:
  explicit Tokenizer(std::shared_ptr<const TokenizerData> d) : d_(std::move(d)) {}
  std::shared_ptr<const TokenizerData> d_;
  friend struct TokenizerBuilder;
};

// Loads the tokenizer of a model given to `-m`: a folder with tokenizer.json (a HF model
// folder or a tokenizer-only folder), a tokenizer.json file, or a .gguf file.
Tokenizer load_tokenizer(const std::string& path);

// Token-by-token detokenization for streaming: feed() returns only complete UTF-8 text and
// holds the bytes of a character split across tokens until it completes. The concatenation
// of all feed() results and flush() equals decode() of all the ids.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(Tokenizer tokenizer, bool skip_special = false)
      : tok_(std::move(tokenizer)), skip_special_(skip_special) {}
  std::string feed(int32_t id);
  // Text still held (an unfinished character becomes U+FFFD); the decoder is then empty.
  std::string flush();
  bool has_pending() const { return !pending_.empty(); }

 private:
  Tokenizer tok_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace sputnik
