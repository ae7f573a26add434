#include "formats/gguf_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace sputnik {
namespace {

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Serializes into a byte vector (tests, fuzz seeds) or streams into a FILE.
struct VectorSink {
  std::vector<std::byte>& out;
  void put(const void* p, size_t n) {
    if (n == 0) return;
    const size_t at = out.size();
    out.resize(at + n);
    std::memcpy(out.data() + at, p, n);
  }
  uint64_t pos() const { return out.size(); }
};

struct FileSink {
  std::FILE* f;
  const std::string& path;
  uint64_t written = 0;
  void put(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) fail("{}: write failed: {}", path, std::strerror(errno));
    written += n;
  }
  uint64_t pos() const { return written; }
};

template <typename Sink>
void put_u32(Sink& s, uint32_t v) { s.put(&v, 4); }
template <typename Sink>
void put_u64(Sink& s, uint64_t v) { s.put(&v, 8); }
template <typename Sink>
void put_str(Sink& s, const std::string& str) {
  put_u64(s, str.size());
  s.put(str.data(), str.size());
}

template <typename Sink>
void put_value(Sink& s, const GgufValue& v) {
  auto u = [&] { return std::get<uint64_t>(v.v); };
  auto i = [&] { return std::get<int64_t>(v.v); };
  auto d = [&] { return std::get<double>(v.v); };
  switch (v.type) {
    case GgufType::U8: { uint8_t x = uint8_t(u()); s.put(&x, 1); break; }
    case GgufType::I8: { int8_t x = int8_t(i()); s.put(&x, 1); break; }
    case GgufType::U16: { uint16_t x = uint16_t(u()); s.put(&x, 2); break; }
    case GgufType::I16: { int16_t x = int16_t(i()); s.put(&x, 2); break; }
    case GgufType::U32: put_u32(s, uint32_t(u())); break;
    case GgufType::I32: { int32_t x = int32_t(i()); s.put(&x, 4); break; }
    case GgufType::U64: put_u64(s, u()); break;
    case GgufType::I64: { int64_t x = i(); s.put(&x, 8); break; }
    case GgufType::F32: { float x = float(d()); s.put(&x, 4); break; }
    case GgufType::F64: { double x = d(); s.put(&x, 8); break; }
    case GgufType::BOOL: { uint8_t x = std::get<bool>(v.v) ? 1 : 0; s.put(&x, 1); break; }
    case GgufType::STRING: put_str(s, std::get<std::string>(v.v)); break;
    case GgufType::ARRAY: {
      const GgufArray& a = std::get<GgufArray>(v.v);
      if (a.skipped > 0) fail("gguf writer: an array whose {} items were not parsed cannot be written", a.skipped);
      put_u32(s, uint32_t(a.elem));
      put_u64(s, a.items.size());
      for (const GgufValue& item : a.items) put_value(s, item);
      break;
    }
  }
}

// The variant alternative each type must hold, so a mislabelled value fails here, not later.
bool value_well_formed(const GgufValue& v) {
  switch (v.type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64:
      return std::holds_alternative<uint64_t>(v.v);
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
      return std::holds_alternative<int64_t>(v.v);
    case GgufType::F32: case GgufType::F64: return std::holds_alternative<double>(v.v);
    case GgufType::BOOL: return std::holds_alternative<bool>(v.v);
    case GgufType::STRING: return std::holds_alternative<std::string>(v.v);
    case GgufType::ARRAY: {
      const GgufArray* a = std::get_if<GgufArray>(&v.v);
      if (!a) return false;
      for (const GgufValue& item : a->items)
        if (item.type != a->elem || !value_well_formed(item)) return false;
      return true;
    }
  }
  return false;
}

}  // namespace

void GgufWriter::add(std::string key, GgufValue value) {
  for (const auto& [k, _] : kv_)
    if (k == key) fail("GGUF writer: metadata key '{}' added twice", key);
  if (!value_well_formed(value))
    fail("GGUF writer: metadata '{}' holds a value that does not match its type {}", key,
         gguf_type_name(value.type));
  if (key == "general.alignment") {
    if (value.type != GgufType::U32) fail("GGUF writer: general.alignment must be a u32");
    const uint64_t a = std::get<uint64_t>(value.v);
    if (a == 0 || (a & (a - 1))) fail("GGUF writer: alignment {} is not a power of two", a);
    if (!tensors_.empty()) fail("GGUF writer: set general.alignment before adding tensors");
    alignment_ = a;
  }
  kv_.emplace_back(std::move(key), std::move(value));
}

void GgufWriter::add_tensor(std::string name, DType dtype, std::vector<int64_t> shape,
                            std::function<void(std::byte*)> fill) {
  if (dtype_info(dtype).ggml_type < 0)
    fail("GGUF writer: tensor '{}': {} has no GGUF type", name, dtype_name(dtype));
  if (shape.size() > 4) fail("GGUF writer: tensor '{}' has more than 4 dimensions", name);
  if (name.size() >= 64) fail("GGUF writer: tensor name '{}' is longer than llama.cpp's 63 bytes", name);
  for (const Tensor& t : tensors_)
    if (t.name == name) fail("GGUF writer: tensor '{}' added twice", name);
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) fail("GGUF writer: tensor '{}' has a negative dimension", name);
    if (__builtin_mul_overflow(numel, d, &numel)) fail("GGUF writer: tensor '{}' is too large", name);
  }
  if (!shape.empty() && shape.back() % dtype_info(dtype).block_elems != 0)
    fail("GGUF writer: tensor '{}': rows of {} values are not whole {} blocks", name, shape.back(),
         dtype_name(dtype));
  Tensor t{std::move(name), dtype, std::move(shape), dtype_bytes(dtype, numel), 0, std::move(fill)};
  t.offset = align_up(data_size_, alignment_);
  data_size_ = t.offset + t.nbytes;
  tensors_.push_back(std::move(t));
}

void GgufWriter::add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, const void* data) {
  int64_t numel = 1;
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(numel, d, &numel)) fail("GGUF writer: tensor '{}' has a bad shape", name);
  const size_t n = dtype_bytes(dtype, numel);
  add_tensor(std::move(name), dtype, std::move(shape),
             [data, n](std::byte* dst) { std::memcpy(dst, data, n); });
}

template <typename Sink>
void GgufWriter::emit(Sink& s) const {
  put_u32(s, 0x46554747);  // "GGUF"
  put_u32(s, 3);
  put_u64(s, tensors_.size());
  put_u64(s, kv_.size());
  for (const auto& [key, value] : kv_) {
    put_str(s, key);
    put_u32(s, uint32_t(value.type));
    put_value(s, value);
  }
  for (const Tensor& t : tensors_) {
    put_str(s, t.name);
    put_u32(s, uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put_u64(s, uint64_t(*it));
    put_u32(s, uint32_t(dtype_info(t.dtype).ggml_type));
    put_u64(s, t.offset);
  }
  static const std::byte zeros[256] = {};
  auto pad_to = [&](uint64_t target) {
    while (s.pos() < target) s.put(zeros, size_t(std::min<uint64_t>(target - s.pos(), sizeof zeros)));
  };
  const uint64_t data_start = align_up(s.pos(), alignment_);
  pad_to(data_start);
  std::unique_ptr<std::byte[]> buf;
  size_t buf_size = 0;
  for (const Tensor& t : tensors_) {
    pad_to(data_start + t.offset);
    if (t.nbytes > buf_size) {
      buf = std::make_unique<std::byte[]>(t.nbytes);
      buf_size = t.nbytes;
    }
    t.fill(buf.get());
    s.put(buf.get(), t.nbytes);
  }
  // gguf-py pads the last tensor too; llama.cpp accepts either.
  pad_to(align_up(s.pos(), alignment_));
}

std::vector<std::byte> GgufWriter::to_bytes() const {
  std::vector<std::byte> out;
  VectorSink sink{out};
  emit(sink);
  return out;
}

void GgufWriter::write(const std::string& path) const {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("{}: cannot create: {}", path, std::strerror(errno));
  try {
    FileSink sink{f, path};
    emit(sink);
    if (std::fclose(f) != 0) {
      f = nullptr;
      fail("{}: write failed: {}", path, std::strerror(errno));
    }
  } catch (...) {
    if (f) std::fclose(f);
    std::remove(path.c_str());
    throw;
  }
}

}  // namespace sputnik
