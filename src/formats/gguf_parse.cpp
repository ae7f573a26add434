// GGUF parsing with every count, length and offset checked against the bytes present.
#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_set>

#include "core/error.h"
#include "formats/gguf.h"

namespace sputnik {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr int kMaxDims = 4;              // GGML_MAX_DIMS: llama.cpp rejects more
constexpr int kMaxNesting = 8;           // arrays of arrays; deeper is surely garbage

// Names of ggml types sputnik cannot hold, so an unsupported file says what it has.
std::string ggml_type_label(uint32_t t) {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"},  {20, "IQ4_NL"},
      {21, "IQ3_S"},   {22, "IQ2_S"},  {23, "IQ4_XS"},  {29, "IQ1_M"},  {31, "Q4_0_4_4"},
      {32, "Q4_0_4_8"}, {33, "Q4_0_8_8"}, {34, "TQ1_0"}, {35, "TQ2_0"},
  };
  for (auto [id, name] : kNames)
    if (id == t) return fmt::format("{} (ggml type {})", name, t);
  return fmt::format("ggml type {}", t);
}

// Minimum bytes one value of a type occupies; used to reject counts the file cannot hold
// before allocating anything for them.
size_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::BOOL: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    case GgufType::STRING: return 8;
    case GgufType::ARRAY: return 12;
  }
  return 1;
}

class Reader {
 public:
  Reader(const std::byte* data, size_t size, const std::string& source, size_t pos = 0)
      : data_(data), size_(size), pos_(std::min(pos, size)), source_(source) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const char* what) {
    if (remaining() < sizeof(T))
      fail("{}: truncated GGUF file: {} at byte {} needs {} bytes, only {} left", source_, what,
           pos_, sizeof(T), remaining());
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what) { return std::string(read_string_view(what)); }

  GgufType read_type(const char* what) {
    const size_t at = pos_;
    const uint32_t t = read<uint32_t>(what);
    if (t > uint32_t(GgufType::F64))
      fail("{}: unknown metadata value type {} for {} at byte {}", source_, t, what, at);
    return GgufType(t);
  }

  // keep = false: every element is read and validated, none is stored.
  GgufValue read_value(GgufType type, const std::string& key, int depth, bool keep = true) {
    GgufValue out;
    out.type = type;
    switch (type) {
      case GgufType::U8: out.v = uint64_t(read<uint8_t>(key.c_str())); break;
      case GgufType::I8: out.v = int64_t(read<int8_t>(key.c_str())); break;
      case GgufType::U16: out.v = uint64_t(read<uint16_t>(key.c_str())); break;
      case GgufType::I16: out.v = int64_t(read<int16_t>(key.c_str())); break;
      case GgufType::U32: out.v = uint64_t(read<uint32_t>(key.c_str())); break;
      case GgufType::I32: out.v = int64_t(read<int32_t>(key.c_str())); break;
      case GgufType::U64: out.v = read<uint64_t>(key.c_str()); break;
      case GgufType::I64: out.v = read<int64_t>(key.c_str()); break;
      case GgufType::F32: out.v = double(read<float>(key.c_str())); break;
      case GgufType::F64: out.v = read<double>(key.c_str()); break;
      case GgufType::BOOL: {
        const size_t at = pos_;
        const uint8_t b = read<uint8_t>(key.c_str());
        if (b > 1) fail("{}: metadata '{}' at byte {}: bool value {} is not 0 or 1", source_, key, at, b);
        out.v = b != 0;
        break;
      }
      case GgufType::STRING: out.v = read_string(key.c_str()); break;
      case GgufType::ARRAY: {
        if (depth >= kMaxNesting)
          fail("{}: metadata '{}': arrays nested deeper than {}", source_, key, kMaxNesting);
        GgufArray arr;
        arr.elem = read_type(key.c_str());
        const size_t at = pos_;
        const uint64_t n = read<uint64_t>(key.c_str());
        arr.offset = pos_;
        if (n > remaining() / min_value_bytes(arr.elem))
          fail("{}: metadata '{}' at byte {} claims {} array elements of type {}, more than the "
               "{} bytes left can hold", source_, key, at, n, gguf_type_name(arr.elem), remaining());
        if (keep) {
          arr.items.reserve(size_t(n));
          for (uint64_t i = 0; i < n; ++i) arr.items.push_back(read_value(arr.elem, key, depth + 1));
        } else {
          for (uint64_t i = 0; i < n; ++i) (void)read_value(arr.elem, key, depth + 1);
          arr.skipped = n;
        }
        out.v = std::move(arr);
        break;
      }
    }
    return out;
  }

  std::string_view read_string_view(const char* what) {
    const size_t at = pos_;
    const uint64_t n = read<uint64_t>(what);
    if (n > remaining())
      fail("{}: {} at byte {} claims {} bytes but only {} remain in the file", source_, what, at,
           n, remaining());
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

 private:
  const std::byte* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& source_;
};

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& source, const std::string& name) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > uint64_t(INT64_MAX))
    fail("{}: tensor '{}': dimensions overflow", source, name);
  return r;
}

}  // namespace

std::vector<std::string_view> gguf_string_items(const GgufArray& a, const std::byte* data, size_t size,
                                                const std::string& source) {
  if (a.elem != GgufType::STRING) fail("{}: expected an array of strings, found {}", source, gguf_type_name(a.elem));
  const uint64_t n = a.items.empty() ? a.skipped : a.items.size();
  if (n > size / 8) fail("{}: string array of {} elements does not fit in the file", source, n);
  Reader r(data, size, source, a.offset);
  std::vector<std::string_view> out(static_cast<size_t>(n));
  for (auto& s : out) s = r.read_string_view("array string");
  return out;
}

std::vector<int64_t> gguf_int_items(const GgufArray& a, const std::byte* data, size_t size, const std::string& source) {
  const uint64_t n = a.items.empty() ? a.skipped : a.items.size();
  if (n > size) fail("{}: integer array of {} elements does not fit in the file", source, n);
  Reader r(data, size, source, a.offset);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (auto& x : out) {
    switch (a.elem) {
      case GgufType::U8: x = r.read<uint8_t>("array element"); break;
      case GgufType::I8: x = r.read<int8_t>("array element"); break;
      case GgufType::U16: x = r.read<uint16_t>("array element"); break;
      case GgufType::I16: x = r.read<int16_t>("array element"); break;
      case GgufType::U32: x = r.read<uint32_t>("array element"); break;
      case GgufType::I32: x = r.read<int32_t>("array element"); break;
      case GgufType::I64: x = r.read<int64_t>("array element"); break;
      case GgufType::U64: {
        const uint64_t v = r.read<uint64_t>("array element");
        if (v > uint64_t(INT64_MAX)) fail("{}: array element {} is out of range", source, v);
        x = int64_t(v);
        break;
      }
      default: fail("{}: expected an array of integers, found {}", source, gguf_type_name(a.elem));
    }
  }
  return out;
}

GgufFile parse_gguf(const std::byte* data, size_t size, const std::string& source, bool keep_vocabulary) {
  GgufFile f;
  f.source = source;
  Reader r(data, size, source);

  const uint32_t magic = r.read<uint32_t>("magic");
  if (magic != kMagic) fail("{}: not a GGUF file (bad magic)", source);
  f.version = r.read<uint32_t>("version");
  if (f.version == 1) fail("{}: GGUF version 1 is not supported (convert it with a newer llama.cpp)", source);
  if (f.version != 2 && f.version != 3) {
    const uint32_t swapped = __builtin_bswap32(f.version);
    if (swapped == 2 || swapped == 3) fail("{}: big-endian GGUF files are not supported", source);
    fail("{}: unsupported GGUF version {}", source, f.version);
  }
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("metadata count");
  // The smallest key/value is 13 bytes (empty key, type, one byte), a tensor info 24.
  if (n_kv > r.remaining() / 13)
    fail("{}: header claims {} metadata entries, more than the file can hold", source, n_kv);
  if (n_tensors > r.remaining() / 24)
    fail("{}: header claims {} tensors, more than the file can hold", source, n_tensors);

  std::unordered_set<std::string> keys;
  f.kv.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.read_string("metadata key");
    const GgufType type = r.read_type(key.c_str());
    const bool keep = keep_vocabulary || std::find(std::begin(kGgufVocabularyKeys), std::end(kGgufVocabularyKeys),
                                                   key) == std::end(kGgufVocabularyKeys);
    GgufValue value = r.read_value(type, key, 0, keep);
    if (!keys.insert(key).second) fail("{}: metadata key '{}' appears twice", source, key);
    f.kv.emplace_back(std::move(key), std::move(value));
  }

  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufType::U32) fail("{}: general.alignment must be a u32", source);
    const uint64_t al = std::get<uint64_t>(a->v);
    if (al == 0 || (al & (al - 1)) != 0)
      fail("{}: general.alignment {} is not a power of two", source, al);
    f.alignment = al;
  }

  std::unordered_set<std::string> names;
  f.tensors.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.read_string("tensor name");
    const uint32_t n_dims = r.read<uint32_t>("tensor dimension count");
    if (n_dims > kMaxDims)
      fail("{}: tensor '{}' has {} dimensions (at most {})", source, t.name, n_dims, kMaxDims);
    uint64_t numel = 1, nonzero = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = r.read<uint64_t>("tensor dimension");
      if (ne > uint64_t(INT64_MAX)) fail("{}: tensor '{}' has a negative dimension", source, t.name);
      numel = checked_mul(numel, ne, source, t.name);
      // Also bounded with zeros skipped, so products in any order stay in range.
      nonzero = checked_mul(nonzero, ne ? ne : 1, source, t.name);
      t.ne.push_back(int64_t(ne));
    }
    const uint32_t type = r.read<uint32_t>("tensor type");
    const std::optional<DType> dt = dtype_from_ggml(int(type));
    if (!dt) fail("{}: tensor '{}' has unsupported type {}", source, t.name, ggml_type_label(type));
    t.dtype = *dt;
    t.offset = r.read<uint64_t>("tensor offset");

    const DTypeInfo& info = dtype_info(t.dtype);
    const int64_t ne0 = t.ne.empty() ? 1 : t.ne[0];
    if (ne0 % info.block_elems != 0)
      fail("{}: tensor '{}' ({}) has rows of {} values, not a multiple of its block size {}",
           source, t.name, info.name, ne0, info.block_elems);
    t.nbytes = size_t(checked_mul(numel / uint64_t(info.block_elems), uint64_t(info.block_bytes),
                                  source, t.name));
    if (t.offset % f.alignment != 0)
      fail("{}: tensor '{}' offset {} is not a multiple of the alignment {}", source, t.name,
           t.offset, f.alignment);
    if (!names.insert(t.name).second) fail("{}: tensor '{}' appears twice", source, t.name);
    f.tensors.push_back(std::move(t));
  }

  // Data starts at the next multiple of the alignment after the tensor infos.
  const size_t header_end = r.pos();
  f.data_offset = (header_end + f.alignment - 1) / f.alignment * f.alignment;
  if (f.data_offset < header_end) fail("{}: alignment overflows", source);  // wrapped around
  std::vector<std::pair<uint64_t, const GgufTensorInfo*>> spans;
  spans.reserve(f.tensors.size());
  for (const GgufTensorInfo& t : f.tensors) {
    uint64_t end;
    if (__builtin_add_overflow(uint64_t(f.data_offset), t.offset, &end) ||
        __builtin_add_overflow(end, uint64_t(t.nbytes), &end) || end > size)
      fail("{}: tensor '{}' data (offset {}, {} bytes) lies beyond the end of the file ({} bytes)",
           source, t.name, t.offset, t.nbytes, size);
    spans.emplace_back(t.offset, &t);
  }
  std::sort(spans.begin(), spans.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < spans.size(); ++i) {
    const GgufTensorInfo& prev = *spans[i - 1].second;
    if (prev.offset + prev.nbytes > spans[i].first)
      fail("{}: tensors '{}' and '{}' overlap in the data section", source, prev.name,
           spans[i].second->name);
  }
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : kv)
    if (k == key) return &v;
  return nullptr;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace sputnik
