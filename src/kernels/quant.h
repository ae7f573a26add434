#pragma once
// llama.cpp/ggml block formats, byte for byte, and row conversions between them and f32.
// quantize_row reproduces ggml's reference quantizers (quantize_row_*_ref, which is also what
// llama-quantize uses without an importance matrix); dequantize_row reproduces ggml's
// dequantize_row_* including the order of float operations, so results are bit-identical.
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

namespace sputnik {

// Layouts, for sizes and documentation. Code reads blocks through byte pointers (GGUF data may
// sit at any even offset), so these structs are never dereferenced from file memory.
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };                                   // x = d·q
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };                                  // x = d·(q−8)
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[16]; };                               // x = d·q + m
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };                   // x = d·(q−16)
struct BlockQ5_1 { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; };                // x = d·q + m
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };       // 8 × 32
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };  // 16 × 16
struct BlockQ8_K { float d; int8_t qs[256]; int16_t bsums[16]; };                  // activations
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// True for F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, Q8_K.
bool can_quantize(DType t);
// True for F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K, Q8_K.
bool can_dequantize(DType t);

// Writes dtype_bytes(t, n) bytes. Throws Error for an unsupported type or n not whole blocks.
void quantize_row(DType t, const float* x, void* dst, int64_t n);
// Reads dtype_bytes(t, n) bytes and writes n floats.
void dequantize_row(DType t, const void* src, float* y, int64_t n);

// Vectorized plain-float conversions (round to nearest even, same bits as core/dtype.h).
void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n);
void bf16_to_f32_row(const uint16_t* src, float* dst, int64_t n);
void f32_to_bf16_row(const float* src, uint16_t* dst, int64_t n);

// Helpers shared by the kernels.
inline uint16_t load_u16(const void* p) {
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}
inline float load_f16(const void* p) { return f16_to_f32(load_u16(p)); }
// Q4_K's packed 6-bit scale and min of sub-block j (0..7).
inline void q4k_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

}  // namespace sputnik
