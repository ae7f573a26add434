#include "kernels/attention.h"

#include <algorithm>
#include <vector>

#include "core/cpu.h"
#include "kernels/activation.h"
#include "kernels/attention_isa.h"
#include "kernels/matmul.h"

namespace sputnik {

void attend_causal(const float* q, int64_t ldq, int64_t m, int64_t first_pos, int64_t dk,
                   const float* k, int64_t ldk, const float* v, int64_t ldv, int64_t dv,
                   float scale, float* out, int64_t ldo) {
  // Chunks bound the score buffer for long prompts (chunk x context floats).
  constexpr int64_t kChunk = 64;
  // Reused per thread: 64 × 512 floats is exactly glibc's initial mmap threshold, so a fresh
  // vector per call was an mmap, page faults and munmap every time.
  static thread_local std::vector<float> scores;
  if (m == 1 && active_isa() == Isa::Avx512) {  // decode: no BLAS call overhead
    scores.resize(size_t(first_pos + 1));
    attend_one_avx512(q, dk, first_pos + 1, k, ldk, v, ldv, dv, scale, scores.data(), out);
    return;
  }
  for (int64_t i0 = 0; i0 < m; i0 += kChunk) {
    const int64_t rows = std::min(kChunk, m - i0), keys = first_pos + i0 + rows;
    scores.resize(size_t(rows * keys));
    gemm_f32(false, true, rows, keys, dk, scale, q + i0 * ldq, ldq, k, ldk, 0.0f, scores.data(), keys);
    for (int64_t r = 0; r < rows; ++r) {
      float* s = scores.data() + r * keys;
      const int64_t visible = first_pos + i0 + r + 1;
      softmax(s, visible);
      std::fill(s + visible, s + keys, 0.0f);
    }
    gemm_f32(false, false, rows, dv, keys, 1.0f, scores.data(), keys, v, ldv, 0.0f, out + i0 * ldo, ldo);
  }
}

void attend_group_decode(const float* q, int64_t ldq, int64_t heads, int64_t pos, int64_t dk, const float* k,
                         int64_t ldk, const float* v, int64_t ldv, int64_t dv, float scale, float* out, int64_t ldo) {
  if (active_isa() != Isa::Avx512) {
    for (int64_t h = 0; h < heads; ++h)
      attend_causal(q + h * ldq, dk, 1, pos, dk, k, ldk, v, ldv, dv, scale, out + h * ldo, ldo);
    return;
  }
  static thread_local std::vector<float> scores;
  scores.resize(size_t(heads * (pos + 1)));
  attend_group_avx512(q, ldq, heads, dk, pos + 1, k, ldk, v, ldv, dv, scale, scores.data(), out, ldo);
}

void prefetch_cache_rows(const float* first, int64_t rows, int64_t ld, int64_t width, int64_t max_bytes) {
  const int64_t row_bytes = width * int64_t(sizeof(float));
  if (row_bytes <= 0) return;
  rows = std::min(rows, max_bytes / row_bytes);
  for (int64_t r = 0; r < rows; ++r) {
    const char* p = reinterpret_cast<const char*>(first + r * ld);
    // From the line holding the row's first byte to the one holding its last.
    const char* line = reinterpret_cast<const char*>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(63));
    for (; line < p + row_bytes; line += 64) __builtin_prefetch(line, 0, 3);
  }
}

}  // namespace sputnik
