// GGUF metadata values: typed access and conversion to JSON.
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "formats/gguf.h"

namespace sputnik {

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "?";
}

bool GgufValue::is_integer() const {
  return std::holds_alternative<uint64_t>(v) || std::holds_alternative<int64_t>(v);
}

bool GgufValue::is_number() const { return is_integer() || std::holds_alternative<double>(v); }

uint64_t GgufValue::as_uint() const {
  if (auto* u = std::get_if<uint64_t>(&v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v)) {
    if (*i < 0) fail("negative value {} where a count was expected", *i);
    return uint64_t(*i);
  }
  if (auto* d = std::get_if<double>(&v)) {
    if (*d >= 0 && *d < 1.8e19 && *d == std::floor(*d)) return uint64_t(*d);
  }
  fail("a {} value where an unsigned integer was expected", gguf_type_name(type));
}

int64_t GgufValue::as_int() const {
  if (auto* i = std::get_if<int64_t>(&v)) return *i;
  if (auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > uint64_t(INT64_MAX)) fail("value {} is too large", *u);
    return int64_t(*u);
  }
  if (auto* d = std::get_if<double>(&v)) {
    if (std::abs(*d) < 9e18 && *d == std::floor(*d)) return int64_t(*d);
  }
  fail("a {} value where an integer was expected", gguf_type_name(type));
}

double GgufValue::as_double() const {
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* u = std::get_if<uint64_t>(&v)) return double(*u);
  if (auto* i = std::get_if<int64_t>(&v)) return double(*i);
  fail("a {} value where a number was expected", gguf_type_name(type));
}

bool operator==(const GgufValue& a, const GgufValue& b) {
  if (a.type != b.type) return false;
  // Compare floats bitwise-equivalently (NaN == NaN) so a round trip of any file compares equal.
  if (auto* da = std::get_if<double>(&a.v)) {
    auto* db = std::get_if<double>(&b.v);
    return db && (*da == *db || (std::isnan(*da) && std::isnan(*db)));
  }
  return a.v == b.v;
}

nlohmann::json gguf_value_to_json(const GgufValue& v) {
  if (auto* u = std::get_if<uint64_t>(&v.v)) return *u;
  if (auto* i = std::get_if<int64_t>(&v.v)) return *i;
  if (auto* b = std::get_if<bool>(&v.v)) return *b;
  if (auto* s = std::get_if<std::string>(&v.v)) return *s;
  if (auto* d = std::get_if<double>(&v.v)) {
    if (!std::isfinite(*d)) return nullptr;  // JSON has no inf/nan
    if (v.type == GgufType::F32) return std::strtod(fmt::format("{}", float(*d)).c_str(), nullptr);
    return *d;
  }
  const GgufArray& a = std::get<GgufArray>(v.v);
  nlohmann::json out = nlohmann::json::array();
  out.get_ref<nlohmann::json::array_t&>().reserve(a.items.size());
  for (const GgufValue& item : a.items) out.push_back(gguf_value_to_json(item));
  return out;
}

nlohmann::json gguf_metadata_json(const GgufFile& f) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : f.kv) {
    const GgufArray* a = value.as_array();
    if (a && a->skipped > 0) continue;  // left in the file by parse_gguf
    out[key] = gguf_value_to_json(value);
  }
  return out;
}

}  // namespace sputnik
