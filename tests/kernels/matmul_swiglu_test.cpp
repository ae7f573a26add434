// matmul_swiglu against its definition, silu(x·gateᵀ) ⊙ (x·upᵀ) from two matmul() calls and
// swiglu(), bit for bit, on every dtype and ISA path, with odd row counts (partial blocks) and
// token counts on both sides of the decode/prefill switch.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "kernels/tiles.h"
#include "test_weights.h"

namespace sputnik {
namespace {

std::vector<float> random_acts(int64_t n, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(size_t(n * k));
  for (auto& v : x) v = dist(rng);
  return x;
}

TEST(MatmulSwiglu, EqualsTwoProductsThenSwiglu) {
  for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::F32}) {
    const int64_t k = t == DType::Q4_K ? 512 : 224;
    for (int64_t out : {16, 37, 300}) {
      const test::Weight gate = test::make_weight(t, out, k, uint32_t(out + 1));
      const test::Weight up = test::make_weight(t, out, k, uint32_t(out + 2));
      for (int64_t n : {1, 4, 5, 33}) {
        const auto x = random_acts(n, k, uint32_t(n));
        for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
          if (isa > best_isa()) continue;
          set_isa_cap(isa);
          for (int threads : {1, 2}) {
            set_num_threads(threads);
            std::vector<float> g(size_t(n * out)), u(size_t(n * out)), want(size_t(n * out)), got(size_t(n * out), NAN);
            matmul(gate.view, x.data(), n, g.data());
            matmul(up.view, x.data(), n, u.data());
            swiglu(g.data(), u.data(), n * out, want.data());
            matmul_swiglu(gate.view, up.view, x.data(), n, got.data());
            EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * 4), 0)
                << dtype_name(t) << " out=" << out << " n=" << n << " " << isa_name(isa) << " t=" << threads;
          }
        }
      }
    }
  }
  set_isa_cap(Isa::Avx512);
  set_num_threads(0);
}

// Decode weights as run/serve load them (Tiles16): the decode path combines gate and up per chunk
// of tiles, and must still give the two products and swiglu() bit for bit.
TEST(MatmulSwiglu, TiledWeightsEqualTwoProductsThenSwiglu) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    for (int64_t out : {16, 48, 301}) {  // 301: tiles and a row-major tail
      const int64_t k = 224;
      const test::Weight gate = test::make_weight(t, out, k, uint32_t(out + 3));
      const test::Weight up = test::make_weight(t, out, k, uint32_t(out + 4));
      std::vector<std::byte> gate_bytes(gate.view.nbytes), up_bytes(up.view.nbytes);
      const TensorView tiled_gate = tile_into(gate.view, gate_bytes.data());
      const TensorView tiled_up = tile_into(up.view, up_bytes.data());
      for (int64_t n : {1, 2, 4}) {
        const auto x = random_acts(n, k, uint32_t(n + 7));
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          std::vector<float> g(size_t(n * out)), u(size_t(n * out)), want(size_t(n * out)), got(size_t(n * out), NAN);
          matmul(tiled_gate, x.data(), n, g.data());
          matmul(tiled_up, x.data(), n, u.data());
          swiglu(g.data(), u.data(), n * out, want.data());
          matmul_swiglu(tiled_gate, tiled_up, x.data(), n, got.data());
          EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * 4), 0)
              << dtype_name(t) << " out=" << out << " n=" << n << " t=" << threads;
        }
      }
    }
  }
  set_num_threads(0);
}

TEST(MatmulSwiglu, ShapeMismatchIsAnError) {
  const test::Weight gate = test::make_weight(DType::Q8_0, 16, 64, 1);
  const test::Weight up = test::make_weight(DType::Q8_0, 16, 96, 2);
  std::vector<float> x(64 * 8), h(16 * 8);
  EXPECT_THROW(matmul_swiglu(gate.view, up.view, x.data(), 8, h.data()), Error);
}

}  // namespace
}  // namespace sputnik
