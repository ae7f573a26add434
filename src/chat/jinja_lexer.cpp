#include "chat/jinja_lexer.h"

#include <algorithm>
#include <cctype>

#include "chat/jinja_value.h"
#include "core/error.h"

namespace sputnik::jinja {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  Lexer(std::string_view source, std::string_view name, const LexOptions& opt) : name_(name), opt_(opt) {
    // Jinja normalizes every newline sequence to \n and drops one trailing newline.
    src_.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
      if (source[i] == '\r') {
        src_ += '\n';
        if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
      } else {
        src_ += source[i];
      }
    }
    if (!opt_.keep_trailing_newline && !src_.empty() && src_.back() == '\n') src_.pop_back();
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i)
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t tag = find_tag(pos);
      if (tag == std::string::npos) {
        emit_data(src_.substr(pos), pos);
        break;
      }
      char kind = src_[tag + 1];  // '{', '%' or '#'
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : 0;
      if (sign != '-' && sign != '+') sign = 0;
      std::string text = src_.substr(pos, tag - pos);
      bool raw = kind == '%' && is_raw_begin(tag);
      text = strip_before(std::move(text), sign, kind != '{', line_starting);
      emit_data(text, pos);
      size_t inner = tag + 2 + (sign ? 1 : 0);
      if (raw) {
        pos = lex_raw(tag, inner, line_starting);
      } else if (kind == '#') {
        pos = lex_comment(tag, inner, line_starting);
      } else {
        pos = lex_tag(tag, inner, kind == '{', line_starting);
      }
    }
    tokens_.push_back(Token{Tok::Eof, "", 0, 0, pos_of(src_.size())});
    return std::move(tokens_);
  }

 private:
  Pos pos_of(size_t off) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), off);
    size_t line = size_t(it - line_starts_.begin());
    size_t line_start = line_starts_[line - 1];
    // Columns count characters, not UTF-8 bytes. Tokens arrive in order, so counting resumes
    // from the previous position on the same line (one-line templates stay linear).
    size_t from = line_start;
    int col = 1;
    if (cache_line_ == line && cache_off_ <= off) {
      from = cache_off_;
      col = cache_col_;
    }
    for (size_t i = from; i < off; ++i)
      if ((static_cast<unsigned char>(src_[i]) & 0xC0) != 0x80) ++col;
    cache_line_ = line;
    cache_off_ = off;
    cache_col_ = col;
    return Pos{int(line), col};
  }

  [[noreturn]] void error(size_t off, const std::string& msg) const {
    Pos p = pos_of(off);
    fail("{}:{}:{}: {}", name_, p.line, p.col, msg);
  }

  size_t find_tag(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos && i + 1 < src_.size(); i = src_.find('{', i + 1)) {
      char c = src_[i + 1];
      if (c == '{' || c == '%' || c == '#') return i;
    }
    return std::string::npos;
  }

  void emit_data(const std::string& text, size_t off) {
    if (!text.empty()) tokens_.push_back(Token{Tok::Data, text, 0, 0, pos_of(off)});
  }

  // Whitespace before a tag: `-` strips all of it; otherwise lstrip_blocks removes the spaces
  // between the start of the line and a block/comment tag when nothing else is on that line.
  std::string strip_before(std::string text, char sign, bool block_like, bool line_starting) const {
    if (sign == '-') {
      size_t end = text.size();
      while (end > 0 && is_space(text[end - 1])) --end;
      text.resize(end);
    } else if (sign != '+' && opt_.lstrip_blocks && block_like) {
      size_t nl = text.rfind('\n');
      size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
      if (l_pos > 0 || line_starting) {
        bool all_ws = l_pos < text.size();
        for (size_t i = l_pos; i < text.size(); ++i)
          if (!is_space(text[i])) all_ws = false;
        if (all_ws) text.resize(l_pos);
      }
    }
    return text;
  }

  // After a closing `-%}`/`-}}`/`-#}` all whitespace goes; after `%}`/`#}` one newline
  // (trim_blocks). Returns the new position and whether the consumed text ended a line.
  size_t after_end(size_t end_pos, bool strip, bool trim, bool& line_starting) const {
    size_t p = end_pos;
    if (strip) {
      while (p < src_.size() && is_space(src_[p])) ++p;
    } else if (trim && p < src_.size() && src_[p] == '\n') {
      ++p;
    }
    line_starting = p > 0 && src_[p - 1] == '\n';
    return p;
  }

  bool is_raw_begin(size_t tag) const {
    size_t p = tag + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    return src_.compare(p, 2, "%}") == 0 || src_.compare(p, 3, "-%}") == 0;
  }

  size_t lex_raw(size_t tag, size_t inner, bool& line_starting) {
    size_t p = src_.find("raw", inner) + 3;
    while (is_space(src_[p])) ++p;
    bool strip = src_[p] == '-';
    p += strip ? 3 : 2;
    p = after_end(p, strip, false, line_starting);
    // Find `{% endraw %}` with optional whitespace control.
    for (size_t q = src_.find("{%", p); q != std::string::npos; q = src_.find("{%", q + 1)) {
      size_t r = q + 2;
      char sign = (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) ? src_[r] : 0;
      if (sign) ++r;
      while (r < src_.size() && is_space(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) continue;
      r += 6;
      while (r < src_.size() && is_space(src_[r])) ++r;
      char end_sign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) end_sign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) continue;
      std::string body = strip_before(src_.substr(p, q - p), sign, true, line_starting);
      emit_data(body, p);
      return after_end(r + 2, end_sign == '-', end_sign != '+' && opt_.trim_blocks, line_starting);
    }
    error(tag, "unclosed {% raw %} block (missing {% endraw %})");
  }

  size_t lex_comment(size_t tag, size_t inner, bool& line_starting) {
    size_t end = src_.find("#}", inner);
    if (end == std::string::npos) error(tag, "unclosed comment (missing #})");
    char sign = end > inner && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    return after_end(end + 2, sign == '-', sign != '+' && opt_.trim_blocks, line_starting);
  }

  size_t lex_tag(size_t tag, size_t p, bool variable, bool& line_starting) {
    tokens_.push_back(Token{variable ? Tok::VarBegin : Tok::BlockBegin, "", 0, 0, pos_of(tag)});
    const char close = variable ? '}' : '%';
    int depth = 0;  // open ( [ {: like Jinja, `}}` only closes the tag when brackets balance
    while (true) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size()) error(tag, variable ? "unclosed {{ (missing }})" : "unclosed {% (missing %})");
      // The closing marker is tried before any other token, as in Jinja's lexer.
      char sign = 0;
      size_t q = p;
      if (src_[q] == '-' || (src_[q] == '+' && !variable)) sign = src_[q++];
      if (depth == 0 && q + 1 < src_.size() && src_[q] == close && src_[q + 1] == '}') {
        tokens_.push_back(Token{variable ? Tok::VarEnd : Tok::BlockEnd, "", 0, 0, pos_of(p)});
        return after_end(q + 2, sign == '-', !variable && sign != '+' && opt_.trim_blocks, line_starting);
      }
      p = lex_expr_token(p);
      const Token& t = tokens_.back();
      if (t.kind == Tok::Op && t.text.size() == 1) {
        char c = t.text[0];
        if (c == '(' || c == '[' || c == '{') ++depth;
        else if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
      }
    }
  }

  size_t lex_expr_token(size_t p) {
    char c = src_[p];
    Pos at = pos_of(p);
    if (c == '\'' || c == '"') return lex_string(p);
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(p);
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = p;
      while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
      tokens_.push_back(Token{Tok::Name, src_.substr(p, e - p), 0, 0, at});
      return e;
    }
    static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : two) {
      if (src_.compare(p, 2, op) == 0) {
        tokens_.push_back(Token{Tok::Op, op, 0, 0, at});
        return p + 2;
      }
    }
    if (std::string_view("+-*/%~[](){}<>=.:|,;").find(c) != std::string_view::npos) {
      tokens_.push_back(Token{Tok::Op, std::string(1, c), 0, 0, at});
      return p + 1;
    }
    error(p, fmt::format("unexpected character '{}' in tag", c));
  }

  size_t lex_number(size_t p) {
    Pos at = pos_of(p);
    size_t e = p;
    auto digits = [&] {
      while (e < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
    };
    digits();
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      is_float = true;
      ++e;
      digits();
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t f = e + 1;
      if (f < src_.size() && (src_[f] == '+' || src_[f] == '-')) ++f;
      if (f < src_.size() && std::isdigit(static_cast<unsigned char>(src_[f]))) {
        is_float = true;
        e = f;
        digits();
      }
    }
    std::string text;
    for (size_t i = p; i < e; ++i)
      if (src_[i] != '_') text += src_[i];
    Token t{is_float ? Tok::Float : Tok::Int, text, 0, 0, at};
    try {
      if (is_float) t.fval = std::stod(text);
      else t.ival = std::stoll(text);
    } catch (const std::exception&) {
      error(p, "number literal out of range: " + text);
    }
    tokens_.push_back(t);
    return e;
  }

  // String literals decode like Python's unicode-escape, which is what Jinja applies.
  size_t lex_string(size_t p) {
    char quote = src_[p];
    Pos at = pos_of(p);
    std::string out;
    size_t i = p + 1;
    while (true) {
      if (i >= src_.size()) error(p, "unterminated string literal");
      char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) error(p, "unterminated string literal");
      char e = src_[i + 1];
      i += 2;
      auto hex = [&](int n) -> char32_t {
        if (i + n > src_.size()) error(i, "truncated \\x/\\u escape in string literal");
        char32_t v = 0;
        for (int k = 0; k < n; ++k) {
          char h = src_[i + k];
          if (!std::isxdigit(static_cast<unsigned char>(h))) error(i, "bad \\x/\\u escape in string literal");
          v = v * 16 + char32_t(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
        }
        i += n;
        return v;
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case '\n': break;  // line continuation
        case 'x': append_utf8(out, hex(2)); break;
        case 'u': append_utf8(out, hex(4)); break;
        case 'U': {
          char32_t v = hex(8);
          if (v > 0x10FFFF) error(i, "\\U escape out of range");
          append_utf8(out, v);
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            char32_t v = char32_t(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) v = v * 8 + char32_t(src_[i++] - '0');
            append_utf8(out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back(Token{Tok::String, out, 0, 0, at});
    return i + 1;
  }

  std::string src_;
  std::string_view name_;
  LexOptions opt_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  mutable size_t cache_line_ = 0, cache_off_ = 0;
  mutable int cache_col_ = 1;
};

}  // namespace

std::vector<Token> lex(std::string_view source, std::string_view name, const LexOptions& options) {
  return Lexer(source, name, options).run();
}

}  // namespace sputnik::jinja
