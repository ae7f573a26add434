#include "core/dtype.h"

#include <array>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace sputnik {
namespace {

constexpr std::array<DTypeInfo, 23> kInfo = {{
    {"F32", 1, 4, 0},       {"F16", 1, 2, 1},       {"BF16", 1, 2, 30},   {"F64", 1, 8, 28},
    {"F8_E4M3", 1, 1, -1},  {"I8", 1, 1, 24},       {"I16", 1, 2, 25},    {"I32", 1, 4, 26},
    {"I64", 1, 8, 27},      {"U8", 1, 1, -1},       {"BOOL", 1, 1, -1},   {"Q8_0", 32, 34, 8},
    {"Q4_0", 32, 18, 2},    {"Q4_1", 32, 20, 3},    {"Q5_0", 32, 22, 6},  {"Q5_1", 32, 24, 7},
    {"Q8_1", 32, 36, 9},    {"Q2_K", 256, 84, 10},  {"Q3_K", 256, 110, 11}, {"Q4_K", 256, 144, 12},
    {"Q5_K", 256, 176, 13}, {"Q6_K", 256, 210, 14}, {"Q8_K", 256, 292, 15},
}};

}  // namespace

const DTypeInfo& dtype_info(DType t) { return kInfo.at(static_cast<size_t>(t)); }

bool dtype_is_quantized(DType t) { return dtype_info(t).block_elems > 1; }

size_t dtype_bytes(DType t, int64_t n) {
  const DTypeInfo& info = dtype_info(t);
  if (n < 0 || n % info.block_elems != 0)
    fail("{} elements is not a whole number of {} blocks ({} values each)", n, info.name,
         info.block_elems);
  return size_t(n / info.block_elems) * size_t(info.block_bytes);
}

std::optional<DType> dtype_from_safetensors(std::string_view name) {
  for (size_t i = 0; i < kInfo.size(); ++i)
    if (kInfo[i].block_elems == 1 && kInfo[i].name == name) return static_cast<DType>(i);
  return std::nullopt;
}

std::optional<DType> dtype_from_ggml(int ggml_type) {
  for (size_t i = 0; i < kInfo.size(); ++i)
    if (kInfo[i].ggml_type == ggml_type && ggml_type >= 0) return static_cast<DType>(i);
  return std::nullopt;
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);  // inf / nan
  if (abs >= 0x477ff000u) return sign | 0x7c00;                                     // overflow
  if (abs < 0x38800000u) {  // result is subnormal or zero: let the FPU round
    float a;
    std::memcpy(&a, &abs, 4);
    return sign | uint16_t(std::lrint(a * 16777216.0f));  // a / 2^-24
  }
  // normal: round mantissa to 10 bits, nearest-even
  uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
  return sign | uint16_t((rounded - (uint32_t(127 - 15) << 23)) >> 13);
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40);  // quiet nan
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

float f8e4m3_to_f32(uint8_t v) {
  const float sign = (v & 0x80) ? -1.0f : 1.0f;
  const int exp = (v >> 3) & 0xf;
  const int mant = v & 0x7;
  if (exp == 0xf && mant == 0x7) return std::nanf("");  // E4M3FN has no infinities
  if (exp == 0) return sign * std::ldexp(float(mant), -9);  // subnormal: mant/8 * 2^-6
  return sign * std::ldexp(1.0f + float(mant) / 8.0f, exp - 7);
}

}  // namespace sputnik
