// `sputnik cpu`: what this machine offers the kernels (ISA paths, threads).
#include <cstdio>

#include "command.h"
#include "core/cpu.h"
#include "core/threads.h"

namespace {

std::function<int()> setup(CLI::App& app) {
  return [] {
    const auto& f = sputnik::cpu_features();
    std::printf("isa: %s (best %s)\n", std::string(sputnik::isa_name(sputnik::active_isa())).c_str(),
                std::string(sputnik::isa_name(sputnik::best_isa())).c_str());
    std::printf("avx2 %d fma %d f16c %d avx512f %d avx512bw %d avx512vl %d avx512vnni %d avx512bf16 %d\n",
                f.avx2, f.fma, f.f16c, f.avx512f, f.avx512bw, f.avx512vl, f.avx512vnni, f.avx512bf16);
    std::printf("threads: %d\n", sputnik::num_threads());
    return 0;
  };
}

}  // namespace

SPUTNIK_COMMAND("cpu", "show the CPU features and kernel path in use", setup);
