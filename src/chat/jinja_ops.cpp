// Operators, lookup and iteration with Python semantics (what Jinja2 inherits from Python).
#include <cmath>

#include "chat/jinja_builtins.h"
#include "chat/jinja_text.h"
#include "core/error.h"

namespace sputnik::jinja {

// Bound methods of str/dict/list values (jinja_methods.cpp).
Value bound_method(const Value& obj, const std::string& name);

[[noreturn]] void undefined_error(const Value& v) {
  const std::string& hint = v.undefined_hint();
  fail("UndefinedError: {}", hint.empty() ? "value is undefined" : hint);
}

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) undefined_error(obj);
  Value m = bound_method(obj, name);
  if (!m.is_undefined()) return m;
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().find(name)) return *v;
    return Value::undefined(fmt::format("'{}' has no attribute '{}'",
                                        obj.as_dict().is_namespace ? "Namespace" : "dict object", name));
  }
  return Value::undefined(fmt::format("'{}' has no attribute '{}'", obj.type_name(), name));
}

namespace {

bool index_of(const Value& key, int64_t& out) {
  if (key.is_int()) out = key.as_int();
  else if (key.is_bool()) out = key.as_bool() ? 1 : 0;
  else return false;
  return true;
}

}  // namespace

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) undefined_error(obj);
  int64_t i;
  if (obj.is_list() && index_of(key, i)) {
    const auto& items = obj.as_list().items;
    int64_t n = int64_t(items.size());
    if (i < 0) i += n;
    if (i >= 0 && i < n) return items[size_t(i)];
    return Value::undefined(fmt::format("{} index out of range", obj.type_name()));
  }
  if (obj.is_string() && index_of(key, i)) {
    std::u32string u = utf8_to_u32(obj.as_string());
    int64_t n = int64_t(u.size());
    if (i < 0) i += n;
    if (i >= 0 && i < n) return Value(u32_to_utf8(u.substr(size_t(i), 1)));
    return Value::undefined("string index out of range");
  }
  if (obj.is_dict() && !obj.as_dict().is_namespace && key.is_string()) {
    if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
  }
  if (key.is_string()) return get_attr(obj, key.as_string());
  return Value::undefined(fmt::format("'{}' has no item {}", obj.type_name(), key.repr()));
}

namespace {

// PySlice_AdjustIndices: clamps start/stop for a sequence of length n.
void slice_indices(int64_t n, const Value& vstart, const Value& vstop, const Value& vstep, int64_t& start,
                   int64_t& stop, int64_t& step) {
  auto as_opt = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    int64_t x;
    if (!index_of(v, x)) fail("TypeError: slice {} must be an integer or None", what);
    return x;
  };
  auto ostep = as_opt(vstep, "step");
  step = ostep.value_or(1);
  if (step == 0) fail("ValueError: slice step cannot be zero");
  auto ostart = as_opt(vstart, "start");
  auto ostop = as_opt(vstop, "stop");
  auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += n;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= n) {
      x = step < 0 ? n - 1 : n;
    }
    return x;
  };
  start = clamp(ostart, step < 0 ? n - 1 : 0);
  stop = clamp(ostop, step < 0 ? -1 : n);
}

template <typename Seq>
Seq take_slice(const Seq& s, int64_t start, int64_t stop, int64_t step) {
  Seq out;
  if (step > 0) {
    for (int64_t i = start; i < stop; i += step) out.push_back(s[size_t(i)]);
  } else {
    for (int64_t i = start; i > stop; i += step) out.push_back(s[size_t(i)]);
  }
  return out;
}

}  // namespace

Value get_slice(const Value& obj, const Value& vstart, const Value& vstop, const Value& vstep) {
  if (obj.is_undefined()) undefined_error(obj);
  int64_t start, stop, step;
  if (obj.is_list()) {
    const auto& items = obj.as_list().items;
    slice_indices(int64_t(items.size()), vstart, vstop, vstep, start, stop, step);
    return Value::list(take_slice(items, start, stop, step), obj.as_list().is_tuple);
  }
  if (obj.is_string()) {
    std::u32string u = utf8_to_u32(obj.as_string());
    slice_indices(int64_t(u.size()), vstart, vstop, vstep, start, stop, step);
    return Value(u32_to_utf8(take_slice(u, start, stop, step)));
  }
  fail("TypeError: '{}' object is not subscriptable", obj.type_name());
}

namespace {

bool intlike(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t to_int(const Value& v) { return v.is_int() ? v.as_int() : int64_t(v.as_bool()); }

[[noreturn]] void type_error(std::string_view op, const Value& a, const Value& b) {
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  fail("TypeError: unsupported operand type(s) for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

Value repeat(const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && uint64_t(n) > kMaxStringBytes / s.size()) fail("string repetition too large");
    std::string out;
    for (int64_t i = 0; i < n; ++i) out += s;
    return Value(std::move(out));
  }
  const auto& items = seq.as_list().items;
  if (!items.empty() && uint64_t(n) > kMaxListItems / items.size()) fail("list repetition too large");
  std::vector<Value> out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), items.begin(), items.end());
  return Value::list(std::move(out), seq.as_list().is_tuple);
}

int compare(const Value& a, const Value& b, std::string_view op) {
  if (a.is_number() && b.is_number()) {
    if (intlike(a) && intlike(b)) return to_int(a) < to_int(b) ? -1 : to_int(a) > to_int(b) ? 1 : 0;
    double x = a.to_double(), y = b.to_double();
    if (std::isnan(x) || std::isnan(y)) return 2;  // every comparison with NaN is false
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());  // UTF-8 byte order == code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.is_list() && b.is_list()) {
    const auto& x = a.as_list().items;
    const auto& y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i].equals(y[i])) continue;
      return compare(x[i], y[i], op);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  fail("TypeError: '{}' not supported between instances of '{}' and '{}'", op, a.type_name(), b.type_name());
}

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (item.is_undefined()) undefined_error(item);
    if (!item.is_string()) fail("TypeError: 'in <string>' requires string as left operand, not {}", item.type_name());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const auto& v : container.as_list().items)
      if (v.equals(item)) return true;
    return false;
  }
  if (container.is_dict() && !container.as_dict().is_namespace) {
    if (!item.is_string()) return false;
    return container.as_dict().find(item.as_string()) != nullptr;
  }
  if (container.is_undefined()) return false;  // Jinja's Undefined iterates as empty
  fail("TypeError: argument of type '{}' is not iterable", container.type_name());
}

}  // namespace

Value negate(const Value& v) {
  if (v.is_int()) {
    if (v.as_int() == INT64_MIN) fail("integer overflow");
    return Value(-v.as_int());
  }
  if (v.is_bool()) return Value(-int64_t(v.as_bool()));
  if (v.is_float()) return Value(-v.as_float());
  if (v.is_undefined()) undefined_error(v);
  fail("TypeError: bad operand type for unary -: '{}'", v.type_name());
}

Value binary_op(std::string_view op, const Value& a, const Value& b) {
  if (op == "~") {
    std::string s = a.str() + b.str();
    if (s.size() > kMaxStringBytes) fail("string too long");
    return Value(std::move(s));
  }
  if (op == "==") return Value(a.equals(b));
  if (op == "!=") return Value(!a.equals(b));
  if (op == "in") return Value(contains(b, a));
  if (op == "notin") return Value(!contains(b, a));
  if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    int c = compare(a, b, op);
    if (c == 2) return Value(false);
    if (op == "<") return Value(c < 0);
    if (op == ">") return Value(c > 0);
    if (op == "<=") return Value(c <= 0);
    return Value(c >= 0);
  }
  bool both_int = intlike(a) && intlike(b);
  bool both_num = a.is_number() && b.is_number();
  if (op == "+") {
    if (both_int) {
      int64_t r;
      if (__builtin_add_overflow(to_int(a), to_int(b), &r)) fail("integer overflow");
      return Value(r);
    }
    if (both_num) return Value(a.to_double() + b.to_double());
    if (a.is_string() && b.is_string()) {
      if (a.as_string().size() + b.as_string().size() > kMaxStringBytes) fail("string too long");
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      std::vector<Value> items = a.as_list().items;
      if (items.size() + b.as_list().items.size() > kMaxListItems) fail("list too long");
      items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value::list(std::move(items), a.as_list().is_tuple);
    }
    type_error(op, a, b);
  }
  if (op == "-") {
    if (both_int) {
      int64_t r;
      if (__builtin_sub_overflow(to_int(a), to_int(b), &r)) fail("integer overflow");
      return Value(r);
    }
    if (both_num) return Value(a.to_double() - b.to_double());
    type_error(op, a, b);
  }
  if (op == "*") {
    if (both_int) {
      int64_t r;
      if (__builtin_mul_overflow(to_int(a), to_int(b), &r)) fail("integer overflow");
      return Value(r);
    }
    if (both_num) return Value(a.to_double() * b.to_double());
    if ((a.is_string() || a.is_list()) && intlike(b)) return repeat(a, to_int(b));
    if ((b.is_string() || b.is_list()) && intlike(a)) return repeat(b, to_int(a));
    type_error(op, a, b);
  }
  if (op == "/") {
    if (!both_num) type_error(op, a, b);
    if (b.to_double() == 0) fail("ZeroDivisionError: division by zero");
    return Value(a.to_double() / b.to_double());
  }
  if (op == "//" || op == "%") {
    if (!both_num) {
      if (op == "%" && a.is_string()) fail("unsupported template construct: printf-style '%' string formatting");
      type_error(op, a, b);
    }
    if (both_int) {
      int64_t x = to_int(a), y = to_int(b);
      if (y == 0) fail("ZeroDivisionError: integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) fail("integer overflow");
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {  // Python floors toward negative infinity
        --q;
        r += y;
      }
      return Value(op == "//" ? q : r);
    }
    double x = a.to_double(), y = b.to_double();
    if (y == 0) fail("ZeroDivisionError: float division by zero");
    if (op == "//") return Value(std::floor(x / y));
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return Value(r);
  }
  if (op == "**") {
    if (!both_num) type_error(op, a, b);
    if (both_int && to_int(b) >= 0) {
      int64_t base = to_int(a), e = to_int(b), r = 1;
      while (e > 0) {
        if (e & 1)
          if (__builtin_mul_overflow(r, base, &r)) fail("integer overflow");
        e >>= 1;
        if (e > 0 && __builtin_mul_overflow(base, base, &base)) fail("integer overflow");
      }
      return Value(r);
    }
    return Value(std::pow(a.to_double(), b.to_double()));
  }
  fail("unknown operator '{}'", op);
}

std::vector<Value> iterate(const Value& v) {
  if (v.is_list()) return v.as_list().items;
  if (v.is_dict() && !v.as_dict().is_namespace) {
    std::vector<Value> keys;
    for (const auto& kv : v.as_dict().items) keys.emplace_back(kv.first);
    return keys;
  }
  if (v.is_string()) {
    std::vector<Value> chars;
    for (char32_t c : utf8_to_u32(v.as_string())) {
      std::string s;
      append_utf8(s, c);
      chars.emplace_back(std::move(s));
    }
    return chars;
  }
  if (v.is_undefined()) return {};
  fail("TypeError: '{}' object is not iterable", v.type_name());
}

}  // namespace sputnik::jinja
