#pragma once
// Vector bodies of the row conversions (convert_avx2.cpp); each converts a prefix of the row
// and returns how many elements it did, the caller finishes the tail with scalar code.
#include <cstdint>

namespace sputnik::isa {

int64_t f16_to_f32_avx(const uint16_t* src, float* dst, int64_t n);
int64_t f32_to_f16_avx(const float* src, uint16_t* dst, int64_t n);
int64_t bf16_to_f32_avx(const uint16_t* src, float* dst, int64_t n);
int64_t f32_to_bf16_avx(const float* src, uint16_t* dst, int64_t n);

}  // namespace sputnik::isa
