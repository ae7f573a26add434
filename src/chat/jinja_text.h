#pragma once
// Python str semantics over UTF-8 (code-point based), shared by str methods and filters.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sputnik::jinja {

// str.isspace() for one code point.
bool py_isspace(char32_t c);

enum class StripSide { Both, Left, Right };
// str.strip/lstrip/rstrip: `chars` unset strips whitespace, otherwise any of its code points.
std::string py_strip(std::string_view s, StripSide side, const std::optional<std::string>& chars);
// str.split(sep, maxsplit) / str.rsplit; sep unset splits on whitespace runs.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep, long maxsplit,
                                  bool from_right = false);
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, long count);
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);

// Case mapping and character classes as Python's str methods, for all of Unicode (ICU data;
// jinja_case.cpp).
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);       // with the final-sigma rule
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string jinja_title(std::string_view s);    // Jinja's |title filter (splits on -, space, brackets)
bool py_islower(std::string_view s);            // str.islower()
bool py_isupper(std::string_view s);            // str.isupper()
bool py_is_cased(char32_t c);                   // Unicode's Cased property
bool py_isalpha(char32_t c);                    // str.isalpha() for one code point
bool py_isdigit(char32_t c);                    // str.isdigit()
bool py_isalnum(char32_t c);                    // str.isalnum()

}  // namespace sputnik::jinja
