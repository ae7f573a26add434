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

// Case mapping: ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic basic letters.
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_title(std::string_view s);       // str.title()
std::string py_capitalize(std::string_view s);  // str.capitalize()
std::string jinja_title(std::string_view s);    // Jinja's |title filter (splits on -, space, brackets)
bool py_is_cased_upper(char32_t c);
bool py_is_cased_lower(char32_t c);
char32_t py_to_upper(char32_t c);
char32_t py_to_lower(char32_t c);

}  // namespace sputnik::jinja
