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

}  // namespace sputnik::jinja
