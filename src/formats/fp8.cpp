#include "formats/fp8.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/threads.h"

namespace sputnik {
namespace {

// E4M3FN -> f32 without a table so the loops below vectorize: exponent and mantissa move into
// f32 position and the exponent is rebiased (7 -> 127); subnormals (exponent 0) are m * 2^-9,
// done by int->float conversion rather than with slow denormal arithmetic. 0x7f/0xff are NaN.
// Selects are masks, not branches, for the same reason.
inline float e4m3_to_f32(uint8_t v) {
  const uint32_t mag = v & 0x7fu;
  const uint32_t normal = (mag << 20) + (120u << 23);
  const uint32_t sub = std::bit_cast<uint32_t>(float(int32_t(mag)) * (1.0f / 512.0f));
  const uint32_t is_sub = 0u - uint32_t(mag < 8);
  const uint32_t is_nan = 0u - uint32_t(mag == 0x7f);
  uint32_t bits = (sub & is_sub) | (normal & ~is_sub);
  bits = (0x7fc00000u & is_nan) | (bits & ~is_nan);
  return std::bit_cast<float>(bits | (uint32_t(v & 0x80u) << 24));
}

// Round-to-nearest-even like f32_to_bf16 (products of finite E4M3 values and finite scales
// are finite; NaN inputs stay NaN because the quiet bit survives truncation).
inline uint16_t to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void span_f32(const uint8_t* in, int64_t n, float scale, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = e4m3_to_f32(in[i]) * scale;
}

void span_bf16(const uint8_t* in, int64_t n, float scale, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = to_bf16(e4m3_to_f32(in[i]) * scale);
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Scale tensors are tiny; read them into f32 once (any alignment, any float dtype).
std::vector<float> scales_as_f32(const TensorView& s) {
  const int64_t n = s.numel();
  std::vector<float> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (s.dtype) {
      case DType::F32: std::memcpy(&out[i], s.data + 4 * i, 4); break;
      case DType::BF16:
      case DType::F16: {
        uint16_t h;
        std::memcpy(&h, s.data + 2 * i, 2);
        out[i] = s.dtype == DType::BF16 ? bf16_to_f32(h) : f16_to_f32(h);
        break;
      }
      default: SPUTNIK_CHECK(false);
    }
  }
  return out;
}

}  // namespace

void check_fp8_pair(const TensorView& w, const TensorView& s, Fp8BlockSize block) {
  if (block.rows <= 0 || block.cols <= 0)
    fail("FP8 block size [{}, {}] must be positive", block.rows, block.cols);
  if (w.dtype != DType::F8_E4M3 || w.shape.size() != 2)
    fail("FP8 weight '{}' must be a 2-D F8_E4M3 tensor, got {} {}", w.name, dtype_name(w.dtype),
         w.shape_string());
  if (s.dtype != DType::F32 && s.dtype != DType::BF16 && s.dtype != DType::F16)
    fail("FP8 scale '{}' must be F32, BF16 or F16, got {}", s.name, dtype_name(s.dtype));
  const std::vector<int64_t> want = {ceil_div(w.shape[0], block.rows),
                                     ceil_div(w.shape[1], block.cols)};
  if (s.shape != want) {
    TensorView tmp;
    tmp.shape = want;
    fail("FP8 scale '{}' has shape {}, but weight '{}' {} with {}x{} blocks needs {}", s.name,
         s.shape_string(), w.name, w.shape_string(), block.rows, block.cols, tmp.shape_string());
  }
}

void dequantize_fp8_blocks(const TensorView& w, const TensorView& s, Fp8BlockSize block,
                           DType out_dtype, std::byte* out) {
  check_fp8_pair(w, s, block);
  if (out_dtype != DType::F32 && out_dtype != DType::BF16)
    fail("FP8 weights dequantize to F32 or BF16, not {}", dtype_name(out_dtype));
  const int64_t rows = w.shape[0], cols = w.shape[1];
  const int64_t scale_cols = s.shape[1];
  const std::vector<float> scale = scales_as_f32(s);
  const auto* src = reinterpret_cast<const uint8_t*>(w.data);
  // Column blocks in the inner loop so each scale is loaded once per block row segment.
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* srow = scale.data() + (r / block.rows) * scale_cols;
      const uint8_t* in = src + r * cols;
      for (int64_t c0 = 0, b = 0; c0 < cols; c0 += block.cols, ++b) {
        const int64_t c1 = std::min(cols, c0 + block.cols);
        const float sc = srow[b];
        if (out_dtype == DType::F32)
          span_f32(in + c0, c1 - c0, sc, reinterpret_cast<float*>(out) + r * cols + c0);
        else
          span_bf16(in + c0, c1 - c0, sc, reinterpret_cast<uint16_t*>(out) + r * cols + c0);
      }
    }
  });
}

}  // namespace sputnik
