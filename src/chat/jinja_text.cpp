#include "chat/jinja_text.h"

#include "chat/jinja_builtins.h"
#include "chat/jinja_value.h"
#include "core/error.h"

namespace sputnik::jinja {

bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string py_strip(std::string_view s, StripSide side, const std::optional<std::string>& chars) {
  std::u32string u = utf8_to_u32(s);
  std::u32string set = chars ? utf8_to_u32(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : py_isspace(c); };
  size_t b = 0, e = u.size();
  if (side != StripSide::Right)
    while (b < e && strip_it(u[b])) ++b;
  if (side != StripSide::Left)
    while (e > b && strip_it(u[e - 1])) --e;
  return u32_to_utf8(std::u32string_view(u).substr(b, e - b));
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, long maxsplit,
                                  bool from_right) {
  std::vector<std::string> out;
  if (!sep) {
    std::u32string u = utf8_to_u32(s);
    std::vector<std::pair<size_t, size_t>> words;
    size_t i = 0;
    while (i < u.size()) {
      while (i < u.size() && py_isspace(u[i])) ++i;
      if (i >= u.size()) break;
      size_t j = i;
      while (j < u.size() && !py_isspace(u[j])) ++j;
      words.emplace_back(i, j);
      i = j;
    }
    if (maxsplit >= 0 && long(words.size()) > maxsplit + 1) {
      // The unsplit remainder keeps its inner whitespace (trailing whitespace stripped).
      if (!from_right) {
        for (long k = 0; k < maxsplit; ++k) out.push_back(u32_to_utf8(u.substr(words[k].first, words[k].second - words[k].first)));
        size_t start = words[maxsplit].first;
        out.push_back(u32_to_utf8(u.substr(start, words.back().second - start)));
      } else {
        size_t first_kept = words.size() - size_t(maxsplit);
        out.push_back(u32_to_utf8(u.substr(words[0].first, words[first_kept - 1].second - words[0].first)));
        for (size_t k = first_kept; k < words.size(); ++k)
          out.push_back(u32_to_utf8(u.substr(words[k].first, words[k].second - words[k].first)));
      }
      return out;
    }
    for (auto [a, b] : words) out.push_back(u32_to_utf8(u.substr(a, b - a)));
    return out;
  }
  if (sep->empty()) fail("ValueError: empty separator");
  std::vector<size_t> cuts;
  size_t pos = 0;
  while ((pos = s.find(*sep, pos)) != std::string_view::npos) {
    cuts.push_back(pos);
    pos += sep->size();
  }
  if (maxsplit >= 0 && long(cuts.size()) > maxsplit) {
    if (!from_right) cuts.resize(size_t(maxsplit));
    else cuts.erase(cuts.begin(), cuts.end() - maxsplit);
  }
  size_t start = 0;
  for (size_t c : cuts) {
    out.emplace_back(s.substr(start, c - start));
    start = c + sep->size();
  }
  out.emplace_back(s.substr(start));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, long count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `repl` before every code point and at the end.
    std::u32string u = utf8_to_u32(s);
    long done = 0;
    for (char32_t c : u) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      append_utf8(out, c);
    }
    if (count < 0 || done < count) out += repl;
    return out;
  }
  size_t start = 0, pos;
  long done = 0;
  while ((count < 0 || done < count) && (pos = s.find(old, start)) != std::string_view::npos) {
    out += s.substr(start, pos - start);
    out += repl;
    if (out.size() > kMaxStringBytes) fail("string too long");
    start = pos + old.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

std::vector<std::string> py_splitlines(std::string_view s, bool keepends) {
  std::u32string u = utf8_to_u32(s);
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  while (i < u.size()) {
    char32_t c = u[i];
    bool brk = c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || c == 0x1C || c == 0x1D || c == 0x1E ||
               c == 0x85 || c == 0x2028 || c == 0x2029;
    if (!brk) {
      ++i;
      continue;
    }
    size_t end = i + 1;
    if (c == '\r' && end < u.size() && u[end] == '\n') ++end;
    out.push_back(u32_to_utf8(u.substr(start, (keepends ? end : i) - start)));
    start = i = end;
  }
  if (start < u.size()) out.push_back(u32_to_utf8(u.substr(start)));
  return out;
}

char32_t py_to_upper(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if (c == 0xB5) return 0x39C;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7)) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_lower ? (c % 2 == 0) : (c % 2 == 1)) return c - 1;
    return c;
  }
  if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) return c - 32;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

char32_t py_to_lower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
    bool odd_lower = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_lower ? (c % 2 == 1) : (c % 2 == 0)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool py_is_cased_upper(char32_t c) { return py_to_lower(c) != c; }
bool py_is_cased_lower(char32_t c) { return py_to_upper(c) != c || c == 0xDF; }

namespace {
bool is_cased(char32_t c) { return py_is_cased_upper(c) || py_is_cased_lower(c); }

template <typename F>
std::string map_chars(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : utf8_to_u32(s)) append_utf8(out, f(c));
  return out;
}
}  // namespace

std::string py_upper(std::string_view s) {
  std::string out;
  for (char32_t c : utf8_to_u32(s)) {
    if (c == 0xDF) out += "SS";  // German sharp s uppercases to two letters in Python
    else append_utf8(out, py_to_upper(c));
  }
  return out;
}

std::string py_lower(std::string_view s) { return map_chars(s, py_to_lower); }

std::string py_title(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : utf8_to_u32(s)) {
    append_utf8(out, prev_cased ? py_to_lower(c) : py_to_upper(c));
    prev_cased = is_cased(c);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::u32string u = utf8_to_u32(s);
  std::string out;
  for (size_t i = 0; i < u.size(); ++i) append_utf8(out, i == 0 ? py_to_upper(u[i]) : py_to_lower(u[i]));
  return out;
}

std::string jinja_title(std::string_view s) {
  // Jinja splits on runs of [-\s({[<] (keeping them) and capitalizes each piece.
  std::u32string u = utf8_to_u32(s);
  auto is_sep = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c); };
  std::string out;
  size_t i = 0;
  while (i < u.size()) {
    size_t j = i;
    bool sep = is_sep(u[i]);
    while (j < u.size() && is_sep(u[j]) == sep) ++j;
    std::u32string piece = u.substr(i, j - i);
    if (sep) {
      out += u32_to_utf8(piece);
    } else {
      for (size_t k = 0; k < piece.size(); ++k) append_utf8(out, k == 0 ? py_to_upper(piece[k]) : py_to_lower(piece[k]));
    }
    i = j;
  }
  return out;
}

}  // namespace sputnik::jinja
