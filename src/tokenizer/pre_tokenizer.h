#pragma once
// The `pre_tokenizer` of tokenizer.json: a sequence of steps that cut text into words before
// BPE. Supported: Split (Regex or String pattern, every behaviour, invert), Digits, ByteLevel
// (add_prefix_space, use_regex with the GPT-2 pattern), Sequence.
#include <nlohmann/json.hpp>

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex.h"

namespace sputnik {

class PreTokenizer {
 public:
  enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
  struct Step {
    enum Kind { Split, Digits, ByteLevel } kind = Split;
    std::shared_ptr<const Regex> regex;  // Split (a String pattern is compiled escaped)
    Behavior behavior = Behavior::Isolated;
    bool invert = false;
    bool individual_digits = false;  // Digits
    bool add_prefix_space = false;   // ByteLevel
    bool use_regex = true;           // ByteLevel
  };

  // From tokenizer.json's "pre_tokenizer" (null = the whole text is one word).
  static PreTokenizer from_json(const nlohmann::json& j);
  static PreTokenizer from_steps(std::vector<Step> steps);
  static Step split_step(std::string_view regex, Behavior behavior = Behavior::Isolated, bool invert = false);
  static Step byte_level_step(bool add_prefix_space, bool use_regex);

  bool has_byte_level() const;

  // Cuts `text` (valid UTF-8) into words appended to `out`. Words are views into `text` or
  // into `arena` (when a prefix space had to be added); empty words are never produced.
  void split(std::string_view text, std::vector<std::string_view>& out, std::deque<std::string>& arena) const;

 private:
  std::vector<Step> steps_;
};

}  // namespace sputnik
