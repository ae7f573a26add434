#pragma once
// The `normalizer` of tokenizer.json: Unicode normalization forms (ICU) and lowercasing,
// alone or in a Sequence. Byte-level BPE models mostly use none or NFC (Qwen).
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace sputnik {

class Normalizer {
 public:
  enum class Step { NFC, NFD, NFKC, NFKD, Lowercase };

  // From tokenizer.json's "normalizer" value (null = none); throws Error on unknown types.
  static Normalizer from_json(const nlohmann::json& j);
  static Normalizer from_steps(std::vector<Step> steps) { return Normalizer(std::move(steps)); }

  bool empty() const { return steps_.empty(); }
  // Returns `text` itself when nothing changes; otherwise writes the result into `storage`
  // and returns a view of it. `text` must be valid UTF-8.
  std::string_view apply(std::string_view text, std::string& storage) const;

 private:
  explicit Normalizer(std::vector<Step> steps) : steps_(std::move(steps)) {}
  std::vector<Step> steps_;
};

}  // namespace sputnik
