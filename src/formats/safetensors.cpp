#include "formats/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace sputnik {
namespace {

// A JSON integer that fits in int64 and is >= 0, or nothing.
bool non_negative_int(const nlohmann::json& j, int64_t& out) {
  if (j.is_number_unsigned()) {
    const uint64_t v = j.get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<int64_t>::max())) return false;
    out = int64_t(v);
    return true;
  }
  if (j.is_number_integer()) {
    out = j.get<int64_t>();
    return out >= 0;
  }
  return false;
}

TensorView parse_entry(const std::string& file, const std::string& tname, const nlohmann::json& e,
                       const std::byte* data, size_t data_size, size_t& begin_out) {
  if (tname.empty()) fail("{}: safetensors header has a tensor with an empty name", file);
  if (!e.is_object()) fail("{}: tensor '{}': header entry is not an object", file, tname);
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || !dt->is_string()) fail("{}: tensor '{}': missing or non-string dtype", file, tname);
  if (sh == e.end() || !sh->is_array()) fail("{}: tensor '{}': missing or non-array shape", file, tname);
  if (off == e.end() || !off->is_array() || off->size() != 2)
    fail("{}: tensor '{}': data_offsets must be an array of two integers", file, tname);

  const std::string dtype_str = dt->get<std::string>();
  const auto dtype = dtype_from_safetensors(dtype_str);
  if (!dtype) fail("{}: tensor '{}': unsupported dtype '{}'", file, tname, dtype_str);

  TensorView v;
  v.name = tname;
  v.dtype = *dtype;
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    int64_t dim;
    if (!non_negative_int(d, dim))
      fail("{}: tensor '{}': shape entries must be non-negative integers, got {}", file, tname,
           d.dump());
    if (__builtin_mul_overflow(numel, uint64_t(dim), &numel))
      fail("{}: tensor '{}': shape {} overflows", file, tname, sh->dump());
    v.shape.push_back(dim);
  }
  uint64_t nbytes;
  const uint64_t elem = uint64_t(dtype_info(*dtype).block_bytes);
  if (__builtin_mul_overflow(numel, elem, &nbytes) ||
      nbytes > uint64_t(std::numeric_limits<int64_t>::max()))
    fail("{}: tensor '{}': shape {} overflows", file, tname, sh->dump());

  int64_t begin, end;
  if (!non_negative_int((*off)[0], begin) || !non_negative_int((*off)[1], end))
    fail("{}: tensor '{}': data_offsets must be non-negative integers, got {}", file, tname,
         off->dump());
  if (begin > end)
    fail("{}: tensor '{}': data_offsets [{}, {}] run backwards", file, tname, begin, end);
  if (uint64_t(end) > data_size)
    fail("{}: tensor '{}': data_offsets [{}, {}] run past the end of the data section ({} bytes)",
         file, tname, begin, end, data_size);
  if (uint64_t(end - begin) != nbytes)
    fail("{}: tensor '{}': data_offsets [{}, {}] hold {} bytes but {} {} needs {}", file, tname,
         begin, end, end - begin, dtype_str, v.shape_string(), nbytes);
  v.data = data + begin;
  v.nbytes = size_t(nbytes);
  begin_out = size_t(begin);
  return v;
}

}  // namespace

SafetensorsFile parse_safetensors(const std::byte* data, size_t size, const std::string& name) {
  SafetensorsFile out;
  out.name = name;
  if (size < 8) fail("{}: too short for a safetensors file ({} bytes)", name, size);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | uint64_t(data[i]);
  if (header_len > size - 8)
    fail("{}: safetensors header length {} runs past the end of the file ({} bytes)", name,
         header_len, size);
  const char* hdr = reinterpret_cast<const char*>(data + 8);
  nlohmann::json header = nlohmann::json::parse(hdr, hdr + header_len, nullptr, false);
  if (header.is_discarded()) fail("{}: safetensors header is not valid JSON", name);
  if (!header.is_object()) fail("{}: safetensors header is not a JSON object", name);

  out.data_start = size_t(8 + header_len);
  const std::byte* body = data + out.data_start;
  const size_t body_size = size - out.data_start;
  out.metadata = nlohmann::json::object();

  std::vector<std::pair<size_t, TensorView>> entries;
  entries.reserve(header.size());
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail("{}: __metadata__ is not a JSON object", name);
      out.metadata = value;
      continue;
    }
    size_t begin = 0;
    TensorView v = parse_entry(name, key, value, body, body_size, begin);
    entries.emplace_back(begin, std::move(v));
  }
  // Two tensors must never share bytes (a writer bug or a crafted file aliasing weights).
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  size_t prev_end = 0;
  const TensorView* prev = nullptr;
  for (auto& [begin, v] : entries) {
    if (v.nbytes == 0) continue;
    if (prev && begin < prev_end)
      fail("{}: tensors '{}' and '{}' overlap in the data section", name, prev->name, v.name);
    prev_end = begin + v.nbytes;
    prev = &v;
  }
  out.tensors.reserve(entries.size());
  for (auto& [_, v] : entries) out.tensors.push_back(std::move(v));
  return out;
}

SafetensorsFile parse_safetensors(const MappedFile& file) {
  return parse_safetensors(file.data(), file.size(), file.path());
}

}  // namespace sputnik
