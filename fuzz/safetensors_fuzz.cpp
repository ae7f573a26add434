// libFuzzer: arbitrary bytes as a .safetensors file. The parser must either throw Error or
// return views that lie wholly inside the input (ASan checks the reads below).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
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
    volatile unsigned sink = sum;
    (void)sink;
  } catch (const sputnik::Error&) {
  }
  return 0;
}
