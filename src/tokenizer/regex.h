#pragma once
// The pre-tokenizer regexes, run with PCRE2 (UTF + UCP + JIT) but with the semantics of the
// engine Hugging Face `tokenizers` uses (Oniguruma, Ruby syntax): `\s` is Unicode White_Space
// (so it matches U+0085 and not U+FEFF), `\w` is letters/marks/decimal digits/connectors,
// `\uHHHH` escapes, and `^`/`$` are line anchors. translate_pattern() rewrites a pattern into
// the PCRE2 equivalent.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace sputnik {

std::string translate_pattern(std::string_view onig_pattern);

class Regex {
 public:
  // Throws Error naming the pattern when it does not compile.
  explicit Regex(std::string_view onig_pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls fn(start, end) for each successive non-overlapping match in `text` (which must be
  // valid UTF-8; an empty match advances one character, as Oniguruma's iterator does).
  template <typename Fn>
  void for_each_match(std::string_view text, Fn&& fn) const {
    size_t pos = 0, start, end;
    while (pos <= text.size() && find(text, pos, start, end)) {
      fn(start, end);
      if (end > start) {
        pos = end;
      } else {
        if (end >= text.size()) break;
        pos = end + 1;
        while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
      }
    }
  }

  // First match at or after `from`; false when none.
  bool find(std::string_view text, size_t from, size_t& start, size_t& end) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8
  bool jit_ = false;
};

}  // namespace sputnik
