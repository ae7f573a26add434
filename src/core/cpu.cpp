#include "core/cpu.h"

#include <cpuid.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace sputnik {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & bit_OSXSAVE;
  f.fma = c & bit_FMA;
  f.f16c = c & bit_F16C;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (unsigned long long)hi << 32 | lo;
  }
  const bool ymm_ok = (xcr0 & 0x6) == 0x6;
  const bool zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm_ok && (b & bit_AVX2);
  f.fma = f.fma && ymm_ok;
  f.avx512f = zmm_ok && (b & bit_AVX512F);
  f.avx512bw = zmm_ok && (b & bit_AVX512BW);
  f.avx512vl = zmm_ok && (b & bit_AVX512VL);
  f.avx512dq = zmm_ok && (b & bit_AVX512DQ);
  f.avx512vnni = zmm_ok && (c & bit_AVX512VNNI);
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512bf16 = zmm_ok && (a & bit_AVX512BF16);
  return f;
}

Isa parse_cap() {
  const char* env = std::getenv("SPUTNIK_ISA");
  if (!env || !*env) return Isa::Avx512;
  std::string s(env);
  if (s == "scalar") return Isa::Scalar;
  if (s == "avx2") return Isa::Avx2;
  if (s == "avx512") return Isa::Avx512;
  fail("SPUTNIK_ISA='{}': expected scalar, avx2 or avx512", s);
}

std::atomic<int> g_cap{-1};

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

Isa best_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.fma && f.f16c)
    return Isa::Avx512;
  if (f.avx2 && f.fma && f.f16c) return Isa::Avx2;
  return Isa::Scalar;
}

Isa active_isa() {
  int cap = g_cap.load(std::memory_order_relaxed);
  if (cap < 0) {
    cap = int(parse_cap());
    g_cap.store(cap, std::memory_order_relaxed);
  }
  return Isa(std::min(cap, int(best_isa())));
}

void set_isa_cap(Isa cap) { g_cap.store(int(cap), std::memory_order_relaxed); }

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

}  // namespace sputnik
