// libFuzzer: arbitrary bytes as a .safetensors file. The parser must either throw Error or
// return views that lie wholly inside the input (ASan checks the reads below). Small FP8
// weight/scale pairs are also dequantized, to exercise the shape checks on hostile shapes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "formats/fp8.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto st = sputnik::parse_safetensors(reinterpret_cast<const std::byte*>(data), size, "fuzz");
    unsigned sum = 0;
    for (const auto& t : st.tensors) {
      if (t.nbytes == 0) continue;
      sum += unsigned(t.data[0]) + unsigned(t.data[t.nbytes - 1]);
      if (t.numel() < 0) __builtin_trap();
    }
    for (const auto& w : st.tensors) {
      if (w.dtype != sputnik::DType::F8_E4M3 || w.nbytes > (1 << 16)) continue;
      for (const auto& s : st.tensors) {
        if (s.name != w.name + "_scale_inv") continue;
        try {
          std::vector<float> out(w.nbytes);
          sputnik::dequantize_fp8_blocks(w, s, {int64_t(1 + data[0] % 8), int64_t(1 + data[1 % size] % 8)},
                                         sputnik::DType::F32, reinterpret_cast<std::byte*>(out.data()));
          sum += unsigned(out.empty() ? 0 : out.back() > 0);
        } catch (const sputnik::Error&) {
        }
      }
    }
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const sputnik::Error&) {
  }
  return 0;
}
