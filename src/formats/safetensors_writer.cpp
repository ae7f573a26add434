#include "formats/safetensors_writer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace sputnik {

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data,
                            size_t nbytes) {
  if (dtype_is_quantized(dtype)) fail("safetensors cannot hold block-quantized tensor {} ({})", name, dtype_name(dtype));
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  if (dtype_bytes(dtype, numel) != nbytes) fail("tensor {}: {} bytes do not match its shape and dtype", name, nbytes);
  for (const Entry& e : entries_)
    if (e.name == name) fail("tensor {} added twice to a safetensors file", name);
  // Keep every tensor 8-byte aligned within the data section so readers can use it in place.
  size_t offset = (bytes_.size() + 7) & ~size_t(7);
  bytes_.resize(offset + nbytes);
  if (nbytes) std::memcpy(bytes_.data() + offset, data, nbytes);
  entries_.push_back({name, dtype, std::move(shape), offset, nbytes});
}

void SafetensorsWriter::add_f32(const std::string& name, std::vector<int64_t> shape, const float* data, DType dtype) {
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  if (dtype == DType::F32) return add(name, dtype, std::move(shape), data, size_t(numel) * 4);
  if (dtype != DType::F16 && dtype != DType::BF16) fail("tensor {}: cannot store f32 data as {}", name, dtype_name(dtype));
  std::vector<uint16_t> half(static_cast<size_t>(numel));
  for (int64_t i = 0; i < numel; ++i) half[i] = dtype == DType::F16 ? f32_to_f16(data[i]) : f32_to_bf16(data[i]);
  add(name, dtype, std::move(shape), half.data(), half.size() * 2);
}

void SafetensorsWriter::write(const std::string& path) const {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  for (const Entry& e : entries_)
    header[e.name] = {{"dtype", std::string(dtype_name(e.dtype))},
                      {"shape", e.shape},
                      {"data_offsets", {e.offset, e.offset + e.nbytes}}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned
  uint64_t header_len = text.size();
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = (unsigned char)(header_len >> (8 * i));

  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("{}: cannot open for writing", tmp);
  bool ok = std::fwrite(len_bytes, 1, 8, f) == 8 && std::fwrite(text.data(), 1, text.size(), f) == text.size() &&
            std::fwrite(bytes_.data(), 1, bytes_.size(), f) == bytes_.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail("{}: write failed (disk full?)", path);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail("{}: cannot rename from {}: {}", path, tmp, ec.message());
}

}  // namespace sputnik
