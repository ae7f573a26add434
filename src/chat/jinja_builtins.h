#pragma once
// Python/Jinja2 semantics the evaluator needs: attribute and item lookup (with Python's str and
// dict methods), operators, iteration, filters, tests and globals. Failures throw
// sputnik::Error without a position; the evaluator adds the template position.
#include <string>
#include <string_view>
#include <vector>

#include "chat/jinja_value.h"

namespace sputnik::jinja {

// Caps on what one render may build, so a hostile template fails instead of exhausting memory.
constexpr size_t kMaxStringBytes = size_t(64) << 20;
constexpr size_t kMaxListItems = size_t(1) << 20;

[[noreturn]] void undefined_error(const Value& v);

// obj.name: Python attribute (a bound str/dict method) first, then item, else undefined.
Value get_attr(const Value& obj, const std::string& name);
// obj[key]: item first, then attribute for string keys, else undefined.
Value get_item(const Value& obj, const Value& key);
// obj[start:stop:step] for lists, tuples and strings (by code point).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// Binary operators: + - * / // % ** ~ == != < > <= >= in notin.
Value binary_op(std::string_view op, const Value& a, const Value& b);
Value negate(const Value& v);

// Items a `for` loop visits: list items, dict keys, string characters; undefined gives none.
std::vector<Value> iterate(const Value& v);

// Filters and tests by name (jinja_filters.cpp); `args` excludes the input value.
Value apply_filter(std::string_view name, const Value& input, const CallArgs& args);
bool apply_test(std::string_view name, const Value& input, const CallArgs& args);

// Built-in global functions (range, namespace, dict, raise_exception, strftime_now);
// undefined when `name` is not one.
Value builtin_global(std::string_view name);

}  // namespace sputnik::jinja
