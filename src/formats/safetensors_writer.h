#pragma once
// Writes a .safetensors file (the format Hugging Face checkpoints use): tensors are added in
// order, then written with a JSON header whose data_offsets are contiguous. Used for training
// checkpoints and `sputnik grads`; parse_safetensors (safetensors.h) reads the result back.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace sputnik {

class SafetensorsWriter {
 public:
  // Copies `nbytes` bytes at `data`; dtype must be a plain float type (F32, F16, BF16, ...).
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data, size_t nbytes);
  // Convenience: f32 data stored as `dtype` (F32, F16 or BF16; rounds to nearest even).
  void add_f32(const std::string& name, std::vector<int64_t> shape, const float* data, DType dtype = DType::F32);
  // String map stored under "__metadata__".
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  // Writes to `path` atomically (a temporary file renamed into place); throws Error on I/O failure.
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    size_t offset, nbytes;
  };
  std::vector<Entry> entries_;
  std::vector<std::byte> bytes_;
  nlohmann::json metadata_ = nlohmann::json::object();
};

}  // namespace sputnik
