#pragma once
// Added tokens (tokenizer.json "added_tokens"): found in the text before any pre-tokenization,
// leftmost-longest, with the lstrip/rstrip/single_word rules of Hugging Face `tokenizers`.
// Two matchers exist per tokenizer: tokens with normalized=false are looked for in the raw
// text, those with normalized=true in the normalized remaining pieces.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sputnik {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// One piece of the text: either an added token (`id` >= 0) or text to tokenize.
struct Segment {
  size_t begin, end;
  int32_t id;  // -1 for plain text
};

class AddedTokenMatcher {
 public:
  // `tokens` must outlive the matcher. `pattern` is the text to look for (the content, or its
  // normalized form) per token, same order.
  void build(const std::vector<const AddedToken*>& tokens, const std::vector<std::string>& patterns);
  bool empty() const { return tokens_.empty(); }

  // Splits `text` into segments covering it (empty text gives no segment).
  void split(std::string_view text, std::vector<Segment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                       // index into tokens_
  };
  int32_t child(int32_t node, unsigned char b) const;
  // Longest token starting at text[pos], or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t& end) const;

  std::vector<Node> nodes_;
  std::vector<const AddedToken*> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace sputnik
