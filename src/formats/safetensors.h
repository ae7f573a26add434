#pragma once
// One .safetensors file: an 8-byte little-endian header length, a JSON header that maps tensor
// names to {dtype, shape, data_offsets} (plus an optional "__metadata__" string map), then the
// raw tensor bytes. Parsing yields zero-copy TensorViews into the given bytes; every field of
// the header is checked so that a lying or truncated file throws Error, never reads out of range.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace sputnik {

struct SafetensorsFile {
  std::string name;                  // path or label used in error messages
  nlohmann::json metadata;           // "__metadata__" (an object; empty when absent)
  std::vector<TensorView> tensors;   // in ascending data offset order
  size_t data_start = 0;             // byte offset of the data section (8 + header length)
};

// Parses `size` bytes at `data` (which must stay alive as long as the views are used).
// `name` appears in every error message. Throws Error on any malformed input.
SafetensorsFile parse_safetensors(const std::byte* data, size_t size, const std::string& name);

// Same over a memory-mapped file (the views point into the mapping).
SafetensorsFile parse_safetensors(const MappedFile& file);

}  // namespace sputnik
