#include "tokenizer/pre_tokenizer.h"

#include <unicode/uchar.h>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace sputnik {

namespace {

constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

const std::shared_ptr<const Regex>& gpt2_regex() {
  static const std::shared_ptr<const Regex> re = std::make_shared<Regex>(kGpt2Pattern);
  return re;
}

PreTokenizer::Behavior parse_behavior(const std::string& s) {
  using B = PreTokenizer::Behavior;
  if (s == "Removed") return B::Removed;
  if (s == "Isolated") return B::Isolated;
  if (s == "MergedWithPrevious") return B::MergedWithPrevious;
  if (s == "MergedWithNext") return B::MergedWithNext;
  if (s == "Contiguous") return B::Contiguous;
  fail("tokenizer.json: unknown split behavior '{}'", s);
}

// Escapes a literal for PCRE2 (the String pattern of a Split).
std::string escape_literal(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\^$.|?*+()[]{}-#&~ ").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

void add_steps(const nlohmann::json& j, std::vector<PreTokenizer::Step>& steps) {
  if (j.is_null()) return;
  if (!j.is_object() || !j.contains("type")) fail("tokenizer.json: pre_tokenizer without a type: {}", j.dump());
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    for (const auto& p : j.at("pretokenizers")) add_steps(p, steps);
  } else if (type == "Split") {
    const auto& pat = j.at("pattern");
    std::string regex;
    if (pat.contains("Regex")) {
      regex = pat["Regex"].get<std::string>();
    } else if (pat.contains("String")) {
      regex = escape_literal(pat["String"].get<std::string>());
    } else {
      fail("tokenizer.json: Split pattern must be Regex or String: {}", pat.dump());
    }
    steps.push_back(PreTokenizer::split_step(regex, parse_behavior(j.at("behavior").get<std::string>()),
                                             j.value("invert", false)));
  } else if (type == "Digits") {
    PreTokenizer::Step s;
    s.kind = PreTokenizer::Step::Digits;
    s.individual_digits = j.value("individual_digits", false);
    steps.push_back(std::move(s));
  } else if (type == "ByteLevel") {
    steps.push_back(PreTokenizer::byte_level_step(j.value("add_prefix_space", true), j.value("use_regex", true)));
  } else {
    fail("tokenizer.json: pre_tokenizer '{}' is not supported (supported: Split, Digits, ByteLevel, Sequence)",
         type);
  }
}

// Rust's char::is_numeric: general categories Nd, Nl, No.
bool is_numeric(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  const int8_t t = u_charType(UChar32(cp));
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

// A piece before/after a step, with whether it was a match of the step's pattern.
struct Mark {
  size_t begin, end;
  bool match;
};

// Applies a split behaviour to the (match / non-match) marks of one word, appending the
// resulting words (HF NormalizedString::split).
void apply_behavior(std::string_view text, const std::vector<Mark>& marks, PreTokenizer::Behavior behavior,
                    std::vector<std::string_view>& out) {
  using B = PreTokenizer::Behavior;
  auto emit = [&](size_t b, size_t e) {
    if (e > b) out.push_back(text.substr(b, e - b));
  };
  switch (behavior) {
    case B::Isolated:
      for (const Mark& m : marks) emit(m.begin, m.end);
      break;
    case B::Removed:
      for (const Mark& m : marks)
        if (!m.match) emit(m.begin, m.end);
      break;
    case B::Contiguous: {
      bool have = false, prev_match = false;
      size_t b = 0, e = 0;
      for (const Mark& m : marks) {
        if (have && m.match == prev_match) {
          e = m.end;
        } else {
          if (have) emit(b, e);
          b = m.begin;
          e = m.end;
          have = true;
        }
        prev_match = m.match;
      }
      if (have) emit(b, e);
      break;
    }
    case B::MergedWithPrevious: {
      bool have = false, prev_match = false;
      size_t b = 0, e = 0;
      for (const Mark& m : marks) {
        if (have && m.match && !prev_match) {
          e = m.end;
        } else {
          if (have) emit(b, e);
          b = m.begin;
          e = m.end;
          have = true;
        }
        prev_match = m.match;
      }
      if (have) emit(b, e);
      break;
    }
    case B::MergedWithNext: {
      // Same walk from the end.
      std::vector<std::pair<size_t, size_t>> rev;
      bool prev_match = false;
      for (size_t i = marks.size(); i-- > 0;) {
        const Mark& m = marks[i];
        if (!rev.empty() && m.match && !prev_match) {
          rev.back().first = m.begin;
        } else {
          rev.emplace_back(m.begin, m.end);
        }
        prev_match = m.match;
      }
      for (size_t i = rev.size(); i-- > 0;) emit(rev[i].first, rev[i].second);
      break;
    }
  }
}

void regex_marks(const Regex& re, std::string_view text, bool invert, std::vector<Mark>& marks) {
  marks.clear();
  size_t prev = 0;
  re.for_each_match(text, [&](size_t s, size_t e) {
    if (prev != s) marks.push_back({prev, s, invert});
    marks.push_back({s, e, !invert});
    prev = e;
  });
  if (prev != text.size()) marks.push_back({prev, text.size(), invert});
}

void digit_marks(std::string_view text, std::vector<Mark>& marks) {
  marks.clear();
  size_t last = 0, i = 0;
  while (i < text.size()) {
    const size_t b = i;
    const uint32_t cp = utf8::next(text, i);
    if (is_numeric(cp)) {
      if (last < b) marks.push_back({last, b, false});
      marks.push_back({b, i, true});
      last = i;
    }
  }
  if (last < text.size()) marks.push_back({last, text.size(), false});
}

}  // namespace

PreTokenizer::Step PreTokenizer::split_step(std::string_view regex, Behavior behavior, bool invert) {
  Step s;
  s.kind = Step::Split;
  s.regex = std::make_shared<Regex>(regex);
  s.behavior = behavior;
  s.invert = invert;
  return s;
}

PreTokenizer::Step PreTokenizer::byte_level_step(bool add_prefix_space, bool use_regex) {
  Step s;
  s.kind = Step::ByteLevel;
  s.add_prefix_space = add_prefix_space;
  s.use_regex = use_regex;
  if (use_regex) s.regex = gpt2_regex();
  return s;
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& j) {
  std::vector<Step> steps;
  add_steps(j, steps);
  return from_steps(std::move(steps));
}

PreTokenizer PreTokenizer::from_steps(std::vector<Step> steps) {
  PreTokenizer p;
  p.steps_ = std::move(steps);
  return p;
}

bool PreTokenizer::has_byte_level() const {
  for (const Step& s : steps_)
    if (s.kind == Step::ByteLevel) return true;
  return false;
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out,
                         std::deque<std::string>& arena) const {
  if (text.empty()) return;
  thread_local std::vector<std::string_view> cur, nxt;
  thread_local std::vector<Mark> marks;
  // Reentrancy is not needed; the thread_local buffers just avoid reallocating per call.
  cur.clear();
  cur.push_back(text);
  for (const Step& step : steps_) {
    nxt.clear();
    for (std::string_view word : cur) {
      switch (step.kind) {
        case Step::Split:
          regex_marks(*step.regex, word, step.invert, marks);
          apply_behavior(word, marks, step.behavior, nxt);
          break;
        case Step::Digits:
          digit_marks(word, marks);
          apply_behavior(word, marks, step.individual_digits ? Behavior::Isolated : Behavior::Contiguous, nxt);
          break;
        case Step::ByteLevel: {
          std::string_view w = word;
          if (step.add_prefix_space && w[0] != ' ') {
            arena.emplace_back();
            arena.back().reserve(w.size() + 1);
            arena.back() += ' ';
            arena.back() += w;
            w = arena.back();
          }
          if (step.use_regex) {
            regex_marks(*step.regex, w, false, marks);
            apply_behavior(w, marks, Behavior::Isolated, nxt);
          } else {
            nxt.push_back(w);
          }
          break;
        }
      }
    }
    cur.swap(nxt);
  }
  out.insert(out.end(), cur.begin(), cur.end());
}

}  // namespace sputnik
