#pragma once
// What the running CPU can do, read once with cpuid. Kernels pick their code path from
// `active_isa()`; SPUTNIK_ISA=scalar|avx2|avx512 forces a lower path (tests run every path).
#include <string_view>

namespace sputnik {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;
};

enum class Isa { Scalar, Avx2, Avx512 };

const CpuFeatures& cpu_features();
Isa best_isa();    // the most capable path this CPU runs
Isa active_isa();  // best_isa() capped by SPUTNIK_ISA / set_isa_cap()
void set_isa_cap(Isa cap);
std::string_view isa_name(Isa isa);

}  // namespace sputnik
