// Python methods templates call on values: str.split/strip/startswith/..., dict.items/get/...,
// list.index/count. Mutating methods are absent, as in transformers' immutable sandbox.
#include <optional>

#include "chat/jinja_builtins.h"
#include "chat/jinja_text.h"
#include "core/error.h"

namespace sputnik::jinja {

namespace {

const Value& arg(const CallArgs& a, size_t i, std::string_view kw_name) {
  static const Value missing = Value::undefined();
  if (i < a.positional.size()) return a.positional[i];
  if (const Value* v = a.kw(kw_name)) return *v;
  return missing;
}

std::optional<std::string> opt_str(const Value& v, std::string_view method) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  if (!v.is_string()) fail("TypeError: {}() argument must be str or None, not {}", method, v.type_name());
  return v.as_string();
}

long opt_long(const Value& v, long dflt) {
  if (v.is_undefined() || v.is_none()) return dflt;
  if (v.is_int()) return long(v.as_int());
  if (v.is_bool()) return v.as_bool();
  fail("TypeError: expected an integer argument, got {}", v.type_name());
}

const std::string& req_str(const Value& v, std::string_view method) {
  if (v.is_undefined()) undefined_error(v);
  if (!v.is_string()) fail("TypeError: {}() argument must be str, not {}", method, v.type_name());
  return v.as_string();
}

Value list_of(std::vector<std::string> parts) {
  std::vector<Value> items;
  items.reserve(parts.size());
  for (auto& p : parts) items.emplace_back(std::move(p));
  return Value::list(std::move(items));
}

bool affix_match(const std::string& s, const Value& affix, bool prefix, std::string_view method) {
  auto one = [&](const Value& a) {
    const std::string& x = req_str(a, method);
    if (x.size() > s.size()) return false;
    return prefix ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0;
  };
  if (affix.is_list()) {
    for (const auto& a : affix.as_list().items)
      if (one(a)) return true;
    return false;
  }
  return one(affix);
}

template <typename Pred>
bool all_chars(const std::string& s, Pred p) {
  std::u32string u = utf8_to_u32(s);
  if (u.empty()) return false;
  for (char32_t c : u)
    if (!p(c)) return false;
  return true;
}

// str.format with {} / {0} / {name} fields (no format specs).
std::string py_format(const std::string& fmt_str, const CallArgs& a) {
  std::string out;
  size_t auto_idx = 0;
  for (size_t i = 0; i < fmt_str.size(); ++i) {
    char c = fmt_str[i];
    if (c == '{' && i + 1 < fmt_str.size() && fmt_str[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (c == '}' && i + 1 < fmt_str.size() && fmt_str[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (c == '{') {
      size_t close = fmt_str.find('}', i);
      if (close == std::string::npos) fail("ValueError: Single '{{' encountered in format string");
      std::string field = fmt_str.substr(i + 1, close - i - 1);
      if (field.find_first_of(":!.[") != std::string::npos)
        fail("unsupported template construct: str.format field '{{{}}}'", field);
      const Value* v = nullptr;
      if (field.empty()) {
        if (auto_idx >= a.positional.size()) fail("IndexError: Replacement index {} out of range", auto_idx);
        v = &a.positional[auto_idx++];
      } else if (std::isdigit(static_cast<unsigned char>(field[0]))) {
        size_t idx = std::stoul(field);
        if (idx >= a.positional.size()) fail("IndexError: Replacement index {} out of range", idx);
        v = &a.positional[idx];
      } else {
        v = a.kw(field);
        if (!v) fail("KeyError: '{}'", field);
      }
      out += v->str();
      i = close;
    } else if (c == '}') {
      fail("ValueError: Single '}}' encountered in format string");
    } else {
      out += c;
    }
  }
  return out;
}

Value string_method(const std::string& s, const std::string& name, const CallArgs& a) {
  if (name == "split" || name == "rsplit")
    return list_of(py_split(s, opt_str(arg(a, 0, "sep"), name), opt_long(arg(a, 1, "maxsplit"), -1), name == "rsplit"));
  if (name == "strip") return Value(py_strip(s, StripSide::Both, opt_str(arg(a, 0, "chars"), name)));
  if (name == "lstrip") return Value(py_strip(s, StripSide::Left, opt_str(arg(a, 0, "chars"), name)));
  if (name == "rstrip") return Value(py_strip(s, StripSide::Right, opt_str(arg(a, 0, "chars"), name)));
  if (name == "startswith") return Value(affix_match(s, arg(a, 0, "prefix"), true, name));
  if (name == "endswith") return Value(affix_match(s, arg(a, 0, "suffix"), false, name));
  if (name == "replace")
    return Value(py_replace(s, req_str(arg(a, 0, "old"), name), req_str(arg(a, 1, "new"), name),
                            opt_long(arg(a, 2, "count"), -1)));
  if (name == "upper") return Value(py_upper(s));
  if (name == "lower") return Value(py_lower(s));
  if (name == "title") return Value(py_title(s));
  if (name == "capitalize") return Value(py_capitalize(s));
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    const std::string& sub = req_str(arg(a, 0, "sub"), name);
    if (name == "count") {
      if (sub.empty()) return Value(int64_t(utf8_to_u32(s).size() + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value(n);
    }
    size_t p = (name == "find" || name == "index") ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) {
      if (name == "index" || name == "rindex") fail("ValueError: substring not found");
      return Value(int64_t(-1));
    }
    return Value(int64_t(utf8_to_u32(std::string_view(s).substr(0, p)).size()));
  }
  if (name == "join") {
    std::string out;
    bool first = true;
    for (const auto& v : iterate(arg(a, 0, "iterable"))) {
      if (!first) out += s;
      first = false;
      out += req_str(v, "join");
      if (out.size() > kMaxStringBytes) fail("string too long");
    }
    return Value(std::move(out));
  }
  if (name == "format") return Value(py_format(s, a));
  if (name == "removeprefix") {
    const std::string& p = req_str(arg(a, 0, "prefix"), name);
    return Value(s.compare(0, p.size(), p) == 0 && p.size() <= s.size() ? s.substr(p.size()) : s);
  }
  if (name == "removesuffix") {
    const std::string& p = req_str(arg(a, 0, "suffix"), name);
    bool match = p.size() <= s.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
    return Value(match && !p.empty() ? s.substr(0, s.size() - p.size()) : s);
  }
  if (name == "splitlines") return list_of(py_splitlines(s, arg(a, 0, "keepends").truthy()));
  if (name == "isdigit") return Value(all_chars(s, py_isdigit));
  if (name == "isspace") return Value(all_chars(s, py_isspace));
  if (name == "isalpha") return Value(all_chars(s, py_isalpha));
  if (name == "isalnum") return Value(all_chars(s, py_isalnum));
  if (name == "islower") return Value(py_islower(s));
  if (name == "isupper") return Value(py_isupper(s));
  fail("internal: unknown str method {}", name);
}

Value dict_method(const Value& d, const std::string& name, const CallArgs& a) {
  const Dict& dict = d.as_dict();
  if (name == "items") {
    std::vector<Value> out;
    for (const auto& [k, v] : dict.items) out.push_back(Value::list({Value(k), v}, true));
    return Value::list(std::move(out));
  }
  if (name == "keys") {
    std::vector<Value> out;
    for (const auto& kv : dict.items) out.emplace_back(kv.first);
    return Value::list(std::move(out));
  }
  if (name == "values") {
    std::vector<Value> out;
    for (const auto& kv : dict.items) out.push_back(kv.second);
    return Value::list(std::move(out));
  }
  if (name == "get") {
    const Value& key = arg(a, 0, "key");
    if (key.is_string())
      if (const Value* v = dict.find(key.as_string())) return *v;
    const Value& dflt = arg(a, 1, "default");
    return dflt.is_undefined() ? Value(None{}) : dflt;
  }
  if (name == "copy") {
    Value copy = Value::dict();
    copy.as_dict().items = dict.items;
    return copy;
  }
  fail("internal: unknown dict method {}", name);
}

Value list_method(const Value& l, const std::string& name, const CallArgs& a) {
  const auto& items = l.as_list().items;
  const Value& x = arg(a, 0, "value");
  if (name == "count") {
    int64_t n = 0;
    for (const auto& v : items) n += v.equals(x);
    return Value(n);
  }
  if (name == "index") {
    for (size_t i = 0; i < items.size(); ++i)
      if (items[i].equals(x)) return Value(int64_t(i));
    fail("ValueError: {} is not in list", x.repr());
  }
  fail("internal: unknown list method {}", name);
}

bool is_string_method(const std::string& n) {
  static const char* names[] = {"split", "rsplit", "strip", "lstrip", "rstrip", "startswith", "endswith",
                                "replace", "upper", "lower", "title", "capitalize", "find", "rfind", "index",
                                "rindex", "count", "join", "format", "removeprefix", "removesuffix",
                                "splitlines", "isdigit", "isspace", "isalpha", "isalnum", "islower", "isupper"};
  for (const char* m : names)
    if (n == m) return true;
  return false;
}

}  // namespace

Value bound_method(const Value& obj, const std::string& name) {
  auto make = [&](std::function<Value(const CallArgs&)> fn) {
    return Value(std::make_shared<Callable>(Callable{name, std::move(fn)}));
  };
  if (obj.is_string() && is_string_method(name)) {
    std::string s = obj.as_string();
    return make([s, name](const CallArgs& a) { return string_method(s, name, a); });
  }
  if (obj.is_dict() && !obj.as_dict().is_namespace &&
      (name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy")) {
    return make([obj, name](const CallArgs& a) { return dict_method(obj, name, a); });
  }
  if (obj.is_list() && (name == "count" || name == "index")) {
    return make([obj, name](const CallArgs& a) { return list_method(obj, name, a); });
  }
  return Value::undefined();
}

}  // namespace sputnik::jinja
