#pragma once
// Random weight matrices quantized to a given dtype, shared by the matmul tests: the stored
// bytes (placed 2 bytes off alignment, as GGUF data may be), the view kernels read, and what the
// weight really is after quantization (the reference products use that).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/quant.h"

namespace sputnik::test {

struct Weight {
  std::vector<uint8_t> bytes;
  std::vector<float> deq;  // what the weight really is after quantization
  TensorView view;
};

inline Weight make_weight(DType t, int64_t out, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> w(size_t(out * in));
  for (auto& v : w) v = dist(rng);
  Weight r;
  const size_t row_bytes = dtype_bytes(t, in);
  r.bytes.resize(row_bytes * size_t(out) + 8);
  // Offset by 2 bytes: GGUF data need not be 4-aligned, kernels must not assume it.
  uint8_t* base = r.bytes.data() + (t == DType::F32 ? 0 : 2);
  for (int64_t o = 0; o < out; ++o) quantize_row(t, w.data() + o * in, base + o * row_bytes, in);
  r.deq.resize(w.size());
  for (int64_t o = 0; o < out; ++o) dequantize_row(t, base + o * row_bytes, r.deq.data() + o * in, in);
  r.view.name = "test." + std::string(dtype_name(t));
  r.view.dtype = t;
  r.view.shape = {out, in};
  r.view.data = reinterpret_cast<const std::byte*>(base);
  r.view.nbytes = row_bytes * size_t(out);
  return r;
}

}  // namespace sputnik::test
