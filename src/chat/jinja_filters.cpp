// Jinja2's built-in filters, tests and globals that chat templates use, plus the tojson that
// transformers installs (json.dumps with ensure_ascii=False and indent/separators/sort_keys).
#include <algorithm>
#include <cmath>
#include <ctime>

#include "chat/jinja.h"
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

bool has(const Value& v) { return !v.is_undefined(); }

std::string filter_str(const Value& v) { return v.str(); }

int64_t length_of(const Value& v) {
  if (v.is_string()) return int64_t(utf8_to_u32(v.as_string()).size());
  if (v.is_list()) return int64_t(v.as_list().items.size());
  if (v.is_dict() && !v.as_dict().is_namespace) return int64_t(v.as_dict().items.size());
  if (v.is_undefined()) return 0;
  fail("TypeError: object of type '{}' has no len()", v.type_name());
}

// Attribute paths like "function.name" (Jinja's make_attrgetter; digits index lists).
Value get_path(const Value& v, const std::string& path) {
  Value cur = v;
  for (const auto& part : py_split(path, std::string("."), -1)) {
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = digits ? get_item(cur, Value(int64_t(std::stoll(part)))) : get_item(cur, Value(part));
  }
  return cur;
}

Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(py_lower(v.as_string()));
  return v;
}

bool less_than(const Value& a, const Value& b) { return binary_op("<", a, b).truthy(); }

Value to_int(const Value& v, const Value& dflt, int base) {
  if (v.is_int()) return v;
  if (v.is_bool()) return Value(int64_t(v.as_bool()));
  if (v.is_float()) {
    double d = v.as_float();
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(int64_t(d));
    return dflt;
  }
  if (v.is_string()) {
    std::string s = py_strip(v.as_string(), StripSide::Both, std::nullopt);
    std::string digits;
    for (char c : s)
      if (c != '_') digits += c;
    try {
      size_t used = 0;
      int64_t x = std::stoll(digits, &used, base);
      if (used == digits.size() && !digits.empty()) return Value(x);
    } catch (const std::exception&) {
    }
    try {
      size_t used = 0;
      double d = std::stod(digits, &used);
      if (used == digits.size() && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(int64_t(d));
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

Value to_float(const Value& v, const Value& dflt) {
  if (v.is_float()) return v;
  if (v.is_int() || v.is_bool()) return Value(v.to_double());
  if (v.is_string()) {
    std::string s = py_strip(v.as_string(), StripSide::Both, std::nullopt);
    try {
      size_t used = 0;
      double d = std::stod(s, &used);
      if (used == s.size() && !s.empty()) return Value(d);
    } catch (const std::exception&) {
    }
  }
  return dflt;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string indent_filter(std::string s, const Value& width, bool first, bool blank) {
  std::string ind = width.is_string() ? width.as_string() : std::string(size_t(std::clamp<int64_t>(
                                                                           has(width) ? width.as_int() : 4, 0, 1024)),
                                                                       ' ');
  s += "\n";
  std::vector<std::string> lines = py_splitlines(s, false);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind + lines[i]);
  }
  if (first) rv = ind + rv;
  return rv;
}

Value tojson(const Value& x, const CallArgs& a) {
  // transformers: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
  Value::JsonStyle style;
  style.ensure_ascii = arg(a, 0, "ensure_ascii").truthy();
  const Value& indent = arg(a, 1, "indent");
  if (has(indent) && !indent.is_none()) {
    if (indent.is_string()) {
      style.indent = 1;
      style.indent_str = indent.as_string();
    } else {
      int64_t n = indent.is_int() ? indent.as_int() : 0;
      style.indent = int(std::clamp<int64_t>(n, 0, 64));
      style.indent_str = std::string(size_t(style.indent), ' ');
    }
    style.item_sep = ",";
  }
  const Value& seps = arg(a, 2, "separators");
  if (has(seps) && !seps.is_none()) {
    if (!seps.is_list() || seps.as_list().items.size() != 2 || !seps.as_list().items[0].is_string() ||
        !seps.as_list().items[1].is_string())
      fail("tojson: separators must be a pair of strings");
    style.item_sep = seps.as_list().items[0].as_string();
    style.key_sep = seps.as_list().items[1].as_string();
  }
  style.sort_keys = arg(a, 3, "sort_keys").truthy();
  if (x.is_undefined()) fail("TypeError: Object of type Undefined is not JSON serializable");
  return Value(x.to_json(style));
}

std::vector<Value> select_items(const Value& seq, const CallArgs& a, bool attr_mode, bool keep_if) {
  std::vector<Value> out;
  size_t next = 0;
  std::string attr;
  if (attr_mode) {
    const Value& at = arg(a, next++, "attribute");
    if (!at.is_string()) fail("selectattr/rejectattr: attribute name must be a string");
    attr = at.as_string();
  }
  const Value& test = next < a.positional.size() ? a.positional[next] : Value::undefined();
  CallArgs test_args;
  for (size_t i = next + 1; i < a.positional.size(); ++i) test_args.positional.push_back(a.positional[i]);
  if (has(test) && !test.is_string()) fail("select/reject: test name must be a string");
  if (has(test) && !is_known_test(test.as_string())) fail("unsupported test '{}'", test.as_string());
  for (const Value& item : iterate(seq)) {
    Value subject = attr_mode ? get_path(item, attr) : item;
    bool ok = has(test) ? apply_test(test.as_string(), subject, test_args) : subject.truthy();
    if (ok == keep_if) out.push_back(item);
  }
  return out;
}

Value min_max(const Value& seq, const CallArgs& a, bool want_max) {
  bool cs = arg(a, 0, "case_sensitive").truthy();
  const Value& attr = arg(a, 1, "attribute");
  std::vector<Value> items = iterate(seq);
  if (items.empty()) return Value::undefined(want_max ? "No biggest item" : "No smallest item");
  size_t best = 0;
  auto key = [&](const Value& v) { return sort_key(attr.is_string() ? get_path(v, attr.as_string()) : v, cs); };
  for (size_t i = 1; i < items.size(); ++i) {
    bool better = want_max ? less_than(key(items[best]), key(items[i])) : less_than(key(items[i]), key(items[best]));
    if (better) best = i;
  }
  return items[best];
}

}  // namespace

Value apply_filter(std::string_view name, const Value& in, const CallArgs& a) {
  if (name == "default" || name == "d") {
    const Value& dflt = arg(a, 0, "default_value");
    bool boolean = arg(a, 1, "boolean").truthy();
    if (in.is_undefined() || (boolean && !in.truthy())) return has(dflt) ? dflt : Value(std::string());
    return in;
  }
  if (name == "tojson") return tojson(in, a);
  if (in.is_undefined() && name != "length" && name != "count" && name != "string" && name != "list" &&
      name != "join" && name != "trim" && name != "upper" && name != "lower" && name != "title" &&
      name != "capitalize" && name != "safe" && name != "escape" && name != "e" && name != "first" &&
      name != "items")
    undefined_error(in);
  if (name == "length" || name == "count") return Value(length_of(in));
  if (name == "string") return Value(filter_str(in));
  if (name == "safe") return in;
  if (name == "escape" || name == "e") return Value(html_escape(filter_str(in)));
  if (name == "trim") {
    const Value& chars = arg(a, 0, "chars");
    std::optional<std::string> set;
    if (has(chars) && !chars.is_none()) set = chars.str();
    return Value(py_strip(filter_str(in), StripSide::Both, set));
  }
  if (name == "upper") return Value(py_upper(filter_str(in)));
  if (name == "lower") return Value(py_lower(filter_str(in)));
  if (name == "title") return Value(jinja_title(filter_str(in)));
  if (name == "capitalize") return Value(py_capitalize(filter_str(in)));
  if (name == "items") {
    if (in.is_undefined()) return Value::list();
    if (!in.is_dict() || in.as_dict().is_namespace) fail("TypeError: items filter needs a mapping, got {}", in.type_name());
    std::vector<Value> out;
    for (const auto& [k, v] : in.as_dict().items) out.push_back(Value::list({Value(k), v}, true));
    return Value::list(std::move(out));
  }
  if (name == "list") return Value::list(iterate(in));
  if (name == "join") {
    const Value& sep = arg(a, 0, "d");
    const Value& attr = arg(a, 1, "attribute");
    std::string s = has(sep) ? filter_str(sep) : "";
    std::string out;
    bool first = true;
    for (const auto& v : iterate(in)) {
      if (!first) out += s;
      first = false;
      out += filter_str(attr.is_string() ? get_path(v, attr.as_string()) : v);
      if (out.size() > kMaxStringBytes) fail("string too long");
    }
    return Value(std::move(out));
  }
  if (name == "first") {
    std::vector<Value> items = iterate(in);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
  }
  if (name == "last") {
    std::vector<Value> items = iterate(in);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
  }
  if (name == "reverse") {
    if (in.is_string()) {
      std::u32string u = utf8_to_u32(in.as_string());
      std::reverse(u.begin(), u.end());
      return Value(u32_to_utf8(u));
    }
    std::vector<Value> items = iterate(in);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "int") {
    const Value& base = arg(a, 1, "base");
    Value dflt = has(arg(a, 0, "default")) ? arg(a, 0, "default") : Value(int64_t(0));
    return to_int(in, dflt, base.is_int() ? int(base.as_int()) : 10);
  }
  if (name == "float") return to_float(in, has(arg(a, 0, "default")) ? arg(a, 0, "default") : Value(0.0));
  if (name == "abs") {
    if (in.is_int()) return in.as_int() < 0 ? negate(in) : in;
    if (in.is_bool()) return Value(int64_t(in.as_bool()));
    if (in.is_float()) return Value(std::fabs(in.as_float()));
    fail("TypeError: bad operand type for abs(): '{}'", in.type_name());
  }
  if (name == "round") {
    const Value& prec = arg(a, 0, "precision");
    const Value& method = arg(a, 1, "method");
    int64_t p = prec.is_int() ? prec.as_int() : 0;
    std::string m = method.is_string() ? method.as_string() : "common";
    double x = in.to_double(), scale = std::pow(10.0, double(p));
    double y = x * scale;
    if (m == "common") y = std::nearbyint(y);  // Python round(): half to even
    else if (m == "ceil") y = std::ceil(y);
    else if (m == "floor") y = std::floor(y);
    else fail("round: method must be common, ceil or floor");
    return Value(y / scale);
  }
  if (name == "replace") {
    const Value& count = arg(a, 2, "count");
    return Value(py_replace(filter_str(in), filter_str(arg(a, 0, "old")), filter_str(arg(a, 1, "new")),
                            count.is_int() ? long(count.as_int()) : -1));
  }
  if (name == "sort" || name == "unique") {
    bool reverse = name == "sort" && arg(a, 0, "reverse").truthy();
    bool cs = arg(a, name == "sort" ? 1 : 0, "case_sensitive").truthy();
    const Value& attr = arg(a, name == "sort" ? 2 : 1, "attribute");
    std::vector<Value> items = iterate(in);
    auto key = [&](const Value& v) { return sort_key(attr.is_string() ? get_path(v, attr.as_string()) : v, cs); };
    if (name == "unique") {
      std::vector<Value> out, seen;
      for (const auto& v : items) {
        Value k = key(v);
        bool dup = std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return s.equals(k); });
        if (!dup) {
          seen.push_back(k);
          out.push_back(v);
        }
      }
      return Value::list(std::move(out));
    }
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      return reverse ? less_than(key(y), key(x)) : less_than(key(x), key(y));
    });
    return Value::list(std::move(items));
  }
  if (name == "dictsort") {
    if (!in.is_dict()) fail("TypeError: dictsort needs a mapping, got {}", in.type_name());
    bool cs = arg(a, 0, "case_sensitive").truthy();
    const Value& by = arg(a, 1, "by");
    bool by_value = by.is_string() && by.as_string() == "value";
    bool reverse = arg(a, 2, "reverse").truthy();
    std::vector<Value> items;
    for (const auto& [k, v] : in.as_dict().items) items.push_back(Value::list({Value(k), v}, true));
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      Value kx = sort_key(x.as_list().items[by_value ? 1 : 0], cs);
      Value ky = sort_key(y.as_list().items[by_value ? 1 : 0], cs);
      return reverse ? less_than(ky, kx) : less_than(kx, ky);
    });
    return Value::list(std::move(items));
  }
  if (name == "map") {
    std::vector<Value> out;
    const Value* attr = a.kw("attribute");
    if (attr) {
      const Value* dflt = a.kw("default");
      for (const auto& v : iterate(in)) {
        Value r = get_path(v, attr->str());
        out.push_back(r.is_undefined() && dflt ? *dflt : r);
      }
      return Value::list(std::move(out));
    }
    if (a.positional.empty() || !a.positional[0].is_string()) fail("map: expected a filter name or attribute=");
    std::string f = a.positional[0].as_string();
    if (!is_known_filter(f)) fail("unsupported filter '{}'", f);
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keyword = a.keyword;
    for (const auto& v : iterate(in)) out.push_back(apply_filter(f, v, rest));
    return Value::list(std::move(out));
  }
  if (name == "select") return Value::list(select_items(in, a, false, true));
  if (name == "reject") return Value::list(select_items(in, a, false, false));
  if (name == "selectattr") return Value::list(select_items(in, a, true, true));
  if (name == "rejectattr") return Value::list(select_items(in, a, true, false));
  if (name == "sum") {
    const Value& attr = arg(a, 0, "attribute");
    Value total = has(arg(a, 1, "start")) ? arg(a, 1, "start") : Value(int64_t(0));
    for (const auto& v : iterate(in)) total = binary_op("+", total, attr.is_string() ? get_path(v, attr.as_string()) : v);
    return total;
  }
  if (name == "min") return min_max(in, a, false);
  if (name == "max") return min_max(in, a, true);
  if (name == "attr") return get_attr(in, filter_str(arg(a, 0, "name")));
  if (name == "indent") {
    return Value(indent_filter(filter_str(in), arg(a, 0, "width"), arg(a, 1, "first").truthy(),
                               arg(a, 2, "blank").truthy()));
  }
  if (name == "wordcount") {
    int64_t n = 0;
    bool in_word = false;
    for (char32_t c : utf8_to_u32(filter_str(in))) {
      const bool w = c == '_' || py_isalnum(c);  // Python's \w
      if (w && !in_word) ++n;
      in_word = w;
    }
    return Value(n);
  }
  fail("unsupported filter '{}'", name);
}

bool is_known_filter(std::string_view n) {
  static const char* names[] = {"default", "d", "tojson", "length", "count", "string", "safe", "escape", "e",
                                "trim", "upper", "lower", "title", "capitalize", "items", "list", "join",
                                "first", "last", "reverse", "int", "float", "abs", "round", "replace", "sort",
                                "unique", "dictsort", "map", "select", "reject", "selectattr", "rejectattr",
                                "sum", "min", "max", "attr", "indent", "wordcount"};
  for (const char* x : names)
    if (n == x) return true;
  return false;
}

bool apply_test(std::string_view name, const Value& v, const CallArgs& a) {
  const Value& other = arg(a, 0, "value");
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict() && !v.as_dict().is_namespace;
  if (name == "iterable") return v.is_list() || v.is_string() || (v.is_dict() && !v.as_dict().is_namespace) || v.is_undefined();
  if (name == "sequence") return v.is_list() || v.is_string() || (v.is_dict() && !v.as_dict().is_namespace) || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "escaped") return false;
  if (name == "sameas") {
    if (v.is_none() || other.is_none()) return v.is_none() && other.is_none();
    if (v.is_bool() && other.is_bool()) return v.as_bool() == other.as_bool();
    if (v.is_list() && other.is_list()) return &v.as_list() == &other.as_list();
    if (v.is_dict() && other.is_dict()) return &v.as_dict() == &other.as_dict();
    return v.is_int() && other.is_int() && v.as_int() == other.as_int() && v.as_int() >= -5 && v.as_int() <= 256;
  }
  if (name == "eq" || name == "equalto" || name == "==") return v.equals(other);
  if (name == "ne" || name == "!=") return !v.equals(other);
  if (name == "lt" || name == "lessthan" || name == "<") return binary_op("<", v, other).truthy();
  if (name == "le" || name == "<=") return binary_op("<=", v, other).truthy();
  if (name == "gt" || name == "greaterthan" || name == ">") return binary_op(">", v, other).truthy();
  if (name == "ge" || name == ">=") return binary_op(">=", v, other).truthy();
  if (name == "in") return binary_op("in", v, other).truthy();
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (v.is_undefined()) undefined_error(v);
    int64_t d = name == "divisibleby" ? (other.is_int() ? other.as_int() : 0) : 2;
    if (d == 0) fail("ZeroDivisionError: integer division or modulo by zero");
    Value r = binary_op("%", v, Value(d));
    bool zero = r.to_double() == 0;
    return name == "odd" ? !zero : zero;
  }
  if (name == "lower" || name == "upper") {
    std::string s = v.str();
    return name == "lower" ? py_islower(s) : py_isupper(s);
  }
  fail("unsupported test '{}'", name);
}

bool is_known_test(std::string_view n) {
  static const char* names[] = {"defined", "undefined", "none", "boolean", "true", "false", "integer", "float",
                                "number", "string", "mapping", "iterable", "sequence", "callable", "escaped",
                                "sameas", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=",
                                "gt", "greaterthan", ">", "ge", ">=", "in", "odd", "even", "divisibleby",
                                "lower", "upper"};
  for (const char* x : names)
    if (n == x) return true;
  return false;
}

Value builtin_global(std::string_view name) {
  auto make = [&](std::function<Value(const CallArgs&)> fn) {
    return Value(std::make_shared<Callable>(Callable{std::string(name), std::move(fn)}));
  };
  if (name == "range") {
    return make([](const CallArgs& a) {
      if (a.positional.empty() || a.positional.size() > 3) fail("TypeError: range expected 1 to 3 arguments");
      for (const auto& v : a.positional)
        if (!v.is_int() && !v.is_bool()) fail("TypeError: range() arguments must be integers, got {}", v.type_name());
      auto iv = [](const Value& v) { return v.is_int() ? v.as_int() : int64_t(v.as_bool()); };
      int64_t start = 0, stop, step = 1;
      if (a.positional.size() == 1) {
        stop = iv(a.positional[0]);
      } else {
        start = iv(a.positional[0]);
        stop = iv(a.positional[1]);
        if (a.positional.size() == 3) step = iv(a.positional[2]);
      }
      if (step == 0) fail("ValueError: range() arg 3 must not be zero");
      std::vector<Value> out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (out.size() >= kMaxListItems) fail("range too large (more than {} items)", kMaxListItems);
        out.emplace_back(i);
        if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "namespace" || name == "dict") {
    bool ns = name == "namespace";
    return make([ns](const CallArgs& a) {
      Value d = Value::dict();
      d.as_dict().is_namespace = ns;
      if (a.positional.size() > 1) fail("TypeError: expected at most 1 positional argument");
      if (a.positional.size() == 1) {
        const Value& init = a.positional[0];
        if (!init.is_dict()) fail("TypeError: cannot build a dict from '{}'", init.type_name());
        for (const auto& [k, v] : init.as_dict().items) d.as_dict().set(k, v);
      }
      for (const auto& [k, v] : a.keyword) d.as_dict().set(k, v);
      return d;
    });
  }
  if (name == "raise_exception") {
    return make([](const CallArgs& a) -> Value {
      fail("raise_exception: {}", a.positional.empty() ? std::string() : a.positional[0].str());
    });
  }
  if (name == "strftime_now") {
    return make([](const CallArgs& a) {
      if (a.positional.empty() || !a.positional[0].is_string()) fail("strftime_now expects a format string");
      std::time_t now = std::time(nullptr);
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[256];
      size_t n = std::strftime(buf, sizeof buf, a.positional[0].as_string().c_str(), &tm);
      return Value(std::string(buf, n));
    });
  }
  return Value::undefined(fmt::format("'{}' is undefined", name));
}

}  // namespace sputnik::jinja
