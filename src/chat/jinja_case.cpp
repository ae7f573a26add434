// Python's str case mapping and character classes for all of Unicode, from ICU's character data:
// full (one-to-many) mappings such as ß -> SS, İ -> i̇, ŉ -> ʼN, the final-sigma rule of
// str.lower(), and title case (not upper case) for the first letter in title()/capitalize().
// Python applies these per code point in the root locale (no Turkish or Lithuanian rules), and
// so does this file.
#include <unicode/casemap.h>
#include <unicode/stringoptions.h>
#include <unicode/uchar.h>
#include <unicode/utf16.h>

#include "chat/jinja_text.h"
#include "chat/jinja_value.h"

namespace sputnik::jinja {
namespace {

enum class Mapping { Upper, Lower, Title };

void append_mapped(std::string& out, char32_t c, Mapping m) {
  if (c < 0x80) {  // ASCII: the common case, no ICU call
    if (m == Mapping::Lower ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z')) c ^= 0x20;
    out += char(c);
    return;
  }
  if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    append_utf8(out, c);
    return;
  }
  char16_t src[2];
  int32_t n = 0;
  U16_APPEND_UNSAFE(src, n, c);
  // A full mapping is at most three code points (SpecialCasing.txt), all in the BMP.
  char16_t dst[8];
  UErrorCode err = U_ZERO_ERROR;
  int32_t len = 0;
  switch (m) {
    case Mapping::Upper:
      len = icu::CaseMap::toUpper("", 0, src, n, dst, 8, nullptr, err);
      break;
    case Mapping::Lower:
      len = icu::CaseMap::toLower("", 0, src, n, dst, 8, nullptr, err);
      break;
    case Mapping::Title:
      // Just this one code point's title-case mapping: no word breaking, no lowercasing.
      len = icu::CaseMap::toTitle(
          "", U_TITLECASE_WHOLE_STRING | U_TITLECASE_NO_BREAK_ADJUSTMENT | U_TITLECASE_NO_LOWERCASE,
          nullptr, src, n, dst, 8, nullptr, err);
      break;
  }
  if (U_FAILURE(err) || len > 8) {
    append_utf8(out, c);
    return;
  }
  for (int32_t i = 0; i < len;) {
    UChar32 cp;
    U16_NEXT(dst, i, len, cp);
    append_utf8(out, char32_t(cp));
  }
}

bool is_case_ignorable(char32_t c) { return u_hasBinaryProperty(UChar32(c), UCHAR_CASE_IGNORABLE); }

// Σ at index i of u is final (ς) when a cased letter precedes it and none follows, skipping
// case-ignorable characters either way (Unicode's Final_Sigma, as CPython's lower() tests it).
bool is_final_sigma(std::u32string_view u, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(u[j - 1])) --j;
  if (j == 0 || !py_is_cased(u[j - 1])) return false;
  j = i + 1;
  while (j < u.size() && is_case_ignorable(u[j])) ++j;
  return j == u.size() || !py_is_cased(u[j]);
}

// str.lower() of u[i] within u (its neighbours decide the form of Σ).
void append_lower(std::string& out, std::u32string_view u, size_t i) {
  if (u[i] == 0x3A3)
    append_utf8(out, is_final_sigma(u, i) ? char32_t(0x3C2) : char32_t(0x3C3));
  else
    append_mapped(out, u[i], Mapping::Lower);
}

std::string lower_all(std::u32string_view u) {
  std::string out;
  out.reserve(u.size());
  for (size_t i = 0; i < u.size(); ++i) append_lower(out, u, i);
  return out;
}

int numeric_type(char32_t c) { return u_getIntPropertyValue(UChar32(c), UCHAR_NUMERIC_TYPE); }

}  // namespace

bool py_is_cased(char32_t c) { return u_hasBinaryProperty(UChar32(c), UCHAR_CASED); }

bool py_isalpha(char32_t c) {
  return (U_GET_GC_MASK(UChar32(c)) & U_GC_L_MASK) != 0;  // Lu, Ll, Lt, Lm, Lo
}

bool py_isdigit(char32_t c) {
  const int t = numeric_type(c);
  return t == U_NT_DECIMAL || t == U_NT_DIGIT;
}

bool py_isalnum(char32_t c) { return py_isalpha(c) || numeric_type(c) != U_NT_NONE; }

std::string py_upper(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : utf8_to_u32(s)) append_mapped(out, c, Mapping::Upper);
  return out;
}

std::string py_lower(std::string_view s) { return lower_all(utf8_to_u32(s)); }

std::string py_title(std::string_view s) {
  const std::u32string u = utf8_to_u32(s);
  std::string out;
  bool prev_cased = false;
  for (size_t i = 0; i < u.size(); ++i) {
    if (prev_cased)
      append_lower(out, u, i);
    else
      append_mapped(out, u[i], Mapping::Title);
    prev_cased = py_is_cased(u[i]);
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  const std::u32string u = utf8_to_u32(s);
  std::string out;
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 0)
      append_mapped(out, u[i], Mapping::Title);
    else
      append_lower(out, u, i);
  }
  return out;
}

bool py_islower(std::string_view s) {
  bool cased = false;
  for (char32_t c : utf8_to_u32(s)) {
    if (u_isUUppercase(UChar32(c)) || u_istitle(UChar32(c))) return false;
    if (u_isULowercase(UChar32(c))) cased = true;
  }
  return cased;
}

bool py_isupper(std::string_view s) {
  bool cased = false;
  for (char32_t c : utf8_to_u32(s)) {
    if (u_isULowercase(UChar32(c)) || u_istitle(UChar32(c))) return false;
    if (u_isUUppercase(UChar32(c))) cased = true;
  }
  return cased;
}

std::string jinja_title(std::string_view s) {
  // Jinja: "".join(item[0].upper() + item[1:].lower() for item in re.split(r"([-\s({\[<]+)", s)
  // if item): upper (not title) case for the first letter, and the rest lowered on its own.
  const std::u32string u = utf8_to_u32(s);
  auto is_sep = [](char32_t c) { return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_isspace(c); };
  std::string out;
  size_t i = 0;
  while (i < u.size()) {
    size_t j = i;
    const bool sep = is_sep(u[i]);
    while (j < u.size() && is_sep(u[j]) == sep) ++j;
    const std::u32string_view piece = std::u32string_view(u).substr(i, j - i);
    append_mapped(out, piece[0], Mapping::Upper);
    out += lower_all(piece.substr(1));
    i = j;
  }
  return out;
}

}  // namespace sputnik::jinja
