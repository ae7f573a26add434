#pragma once
// Element types of stored tensors: the plain floats of safetensors and the block-quantized
// types of GGUF. A quantized type stores `block_elems` values in `block_bytes` bytes; rows are
// whole blocks.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sputnik {

enum class DType : uint8_t {
  F32,
  F16,
  BF16,
  F64,
  F8_E4M3,  // DeepSeek's FP8 weights (scaled per 128x128 block by a separate tensor)
  I8,
  I16,
  I32,
  I64,
  U8,
  BOOL,
  Q8_0,  // llama.cpp block types, byte-identical layouts
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_1,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  Q8_K,
};

struct DTypeInfo {
  std::string_view name;  // safetensors spelling for plain types, ggml spelling for blocks
  int block_elems;        // 1 for plain types
  int block_bytes;        // element size for plain types
  int ggml_type;          // ggml_type id in GGUF files, -1 if none
};

const DTypeInfo& dtype_info(DType t);
inline std::string_view dtype_name(DType t) { return dtype_info(t).name; }
bool dtype_is_quantized(DType t);  // block type with block_elems > 1

// Bytes of `n` consecutive elements; throws Error when n is not a whole number of blocks.
size_t dtype_bytes(DType t, int64_t n);

std::optional<DType> dtype_from_safetensors(std::string_view name);
std::optional<DType> dtype_from_ggml(int ggml_type);

// Scalar conversions (exact, round-to-nearest-even where narrowing).
float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
inline float bf16_to_f32(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f);
float f8e4m3_to_f32(uint8_t v);

}  // namespace sputnik
