#include "formats/fp8.h"

#include <array>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/threads.h"

namespace sputnik {
namespace {

const std::array<float, 256>& e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[i] = f8e4m3_to_f32(uint8_t(i));
    return t;
  }();
  return table;
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
  const auto& lut = e4m3_table();
  const auto* src = reinterpret_cast<const uint8_t*>(w.data);
  parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* srow = scale.data() + (r / block.rows) * scale_cols;
      const uint8_t* in = src + r * cols;
      if (out_dtype == DType::F32) {
        float* o = reinterpret_cast<float*>(out) + r * cols;
        for (int64_t c = 0; c < cols; ++c) o[c] = lut[in[c]] * srow[c / block.cols];
      } else {
        uint16_t* o = reinterpret_cast<uint16_t*>(out) + r * cols;
        for (int64_t c = 0; c < cols; ++c) o[c] = f32_to_bf16(lut[in[c]] * srow[c / block.cols]);
      }
    }
  });
}

}  // namespace sputnik
