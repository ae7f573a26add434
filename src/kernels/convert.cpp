// f32 <-> f16/bf16 rows: scalar fallback and run-time choice of the vector path.
#include "core/cpu.h"
#include "kernels/convert_isa.h"
#include "kernels/quant.h"

namespace sputnik {

void f16_to_f32_row(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  if (active_isa() >= Isa::Avx2) i = isa::f16_to_f32_avx(src, dst, n);
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16_row(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  if (active_isa() >= Isa::Avx2) i = isa::f32_to_f16_avx(src, dst, n);
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

void bf16_to_f32_row(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  if (active_isa() >= Isa::Avx2) i = isa::bf16_to_f32_avx(src, dst, n);
  for (; i < n; ++i) dst[i] = bf16_to_f32(src[i]);
}

void f32_to_bf16_row(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  if (active_isa() >= Isa::Avx2) i = isa::f32_to_bf16_avx(src, dst, n);
  for (; i < n; ++i) dst[i] = f32_to_bf16(src[i]);
}

}  // namespace sputnik
