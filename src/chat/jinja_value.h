#pragma once
// The values a Jinja template computes with, modelled on the Python objects Jinja2 sees when
// transformers renders a chat template: lists and dicts are shared by reference (as in Python),
// dicts keep insertion order (json.loads order), ints and floats stay distinct (they print
// differently), and `undefined` is its own kind because templates test for it constantly.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace sputnik::jinja {

class Value;

struct Undefined {
  std::string hint;  // what was missing, for the error when it is used ("'x' is undefined")
};
struct None {};

struct List {
  std::vector<Value> items;
  bool is_tuple = false;  // only changes how it prints: (a, b) vs [a, b]
};

struct Dict {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // namespace() objects: the only ones `set x.attr` may write
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(std::string key, Value v);
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* kw(std::string_view name) const;
};

struct Callable {
  std::string name;
  std::function<Value(const CallArgs&)> fn;
};

class Value {
 public:
  using ListPtr = std::shared_ptr<List>;
  using DictPtr = std::shared_ptr<Dict>;
  using CallablePtr = std::shared_ptr<Callable>;

  Value() : v_(Undefined{}) {}
  Value(Undefined u) : v_(std::move(u)) {}
  Value(None) : v_(None{}) {}
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t(i)) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(ListPtr l) : v_(std::move(l)) {}
  Value(DictPtr d) : v_(std::move(d)) {}
  Value(CallablePtr c) : v_(std::move(c)) {}

  static Value undefined(std::string hint = {}) { return Value(Undefined{std::move(hint)}); }
  static Value list(std::vector<Value> items = {}, bool tuple = false);
  static Value dict();
  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_none() const { return std::holds_alternative<None>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }
  bool is_float() const { return std::holds_alternative<double>(v_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_list() const { return std::holds_alternative<ListPtr>(v_); }
  bool is_dict() const { return std::holds_alternative<DictPtr>(v_); }
  bool is_callable() const { return std::holds_alternative<CallablePtr>(v_); }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  // Numeric value of an int, float or bool (Python's bool is an int).
  double to_double() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  List& as_list() const { return *std::get<ListPtr>(v_); }
  Dict& as_dict() const { return *std::get<DictPtr>(v_); }
  const Callable& as_callable() const { return *std::get<CallablePtr>(v_); }
  DictPtr dict_ptr() const { return std::get<DictPtr>(v_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(v_).hint; }

  // Python truthiness.
  bool truthy() const;
  // Python type name, for error messages ("'NoneType' object is not iterable").
  std::string type_name() const;
  // str(x) as Jinja prints it ({{ x }}); undefined prints as "".
  std::string str() const;
  // repr(x), used inside printed lists/dicts.
  std::string repr() const;
  // Python ==.
  bool equals(const Value& other) const;
  // JSON as Python's json.dumps(x, ensure_ascii, indent, separators, sort_keys) writes it.
  struct JsonStyle {
    bool ensure_ascii = false;
    int indent = -1;  // -1: no newlines
    std::string indent_str;
    std::string item_sep = ", ";
    std::string key_sep = ": ";
    bool sort_keys = false;
  };
  std::string to_json(const JsonStyle& style) const;
  nlohmann::ordered_json to_nlohmann() const;

 private:
  void write_json(std::string& out, const JsonStyle& style, int depth) const;
  std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, DictPtr, CallablePtr> v_;
};

// Python float repr: shortest round-trip digits, exponent form outside 1e-4 <= |x| < 1e16.
std::string python_float_repr(double d);
// Python repr of a str (quotes chosen as Python does, non-printables escaped).
std::string python_string_repr(std::string_view s);

// UTF-8 helpers: Python indexes strings by code point, not byte.
std::u32string utf8_to_u32(std::string_view s);
std::string u32_to_utf8(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);

}  // namespace sputnik::jinja
