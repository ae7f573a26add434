// softmax and SwiGLU (fast_exp inside, AVX-512 and plain paths, SwiGLU split over threads) against
// double-precision references.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "core/threads.h"
#include "kernels/activation.h"

using namespace sputnik;

namespace {

const Isa kIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};

std::vector<float> random_values(int64_t n, float spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, spread);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

class ActivationTest : public ::testing::Test {
 protected:
  void TearDown() override {
    set_isa_cap(Isa::Avx512);
    set_num_threads(0);
  }
};

}  // namespace

TEST_F(ActivationTest, SoftmaxMatchesDoubleReference) {
  // Lengths around the 16-lane vector width, and spreads from flat to nearly one-hot.
  for (int64_t n : {1, 5, 16, 17, 100, 1000, 4099}) {
    for (float spread : {0.1f, 3.0f, 40.0f}) {
      const auto x = random_values(n, spread, uint32_t(n * 31 + int(spread)));
      double mx = -INFINITY, sum = 0;
      for (float v : x) mx = std::max(mx, double(v));
      std::vector<double> ref(x.size());
      for (size_t i = 0; i < x.size(); ++i) sum += ref[i] = std::exp(double(x[i]) - mx);
      for (double& r : ref) r /= sum;
      for (Isa isa : kIsas) {
        if (isa > best_isa()) continue;
        set_isa_cap(isa);
        std::vector<float> y = x;
        softmax(y.data(), n);
        double total = 0;
        for (size_t i = 0; i < y.size(); ++i) {
          total += y[i];
          ASSERT_NEAR(y[i], ref[i], 1e-6 * ref[i] + 1e-12) << "n=" << n << " spread=" << spread << " i=" << i
                                                           << " " << isa_name(isa);
        }
        EXPECT_NEAR(total, 1.0, 1e-5);
      }
    }
  }
}

TEST_F(ActivationTest, SwigluMatchesDoubleReferenceAtAnyThreadCount) {
  // 40000 values take the threaded path; 15 and 16 the vector tail and body.
  for (int64_t n : {1, 15, 16, 333, 40000}) {
    const auto gate = random_values(n, 4.0f, uint32_t(n)), up = random_values(n, 1.0f, uint32_t(n + 7));
    for (Isa isa : kIsas) {
      if (isa > best_isa()) continue;
      set_isa_cap(isa);
      std::vector<float> first;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::vector<float> y(static_cast<size_t>(n));
        swiglu(gate.data(), up.data(), n, y.data());
        for (int64_t i = 0; i < n; ++i) {
          const double g = gate[size_t(i)], ref = g / (1.0 + std::exp(-g)) * double(up[size_t(i)]);
          ASSERT_NEAR(y[size_t(i)], ref, 1e-6 * std::fabs(ref) + 1e-30) << "n=" << n << " i=" << i << " " << isa_name(isa);
        }
        if (first.empty()) first = y;
        EXPECT_EQ(first, y) << "thread count changed the result, n=" << n;
      }
    }
  }
  // The [gate | up] row layout gives the same numbers as the split one.
  const int64_t rows = 3, dim = 20;
  const auto gu = random_values(rows * 2 * dim, 2.0f, 5);
  std::vector<float> packed(static_cast<size_t>(rows * dim)), split(static_cast<size_t>(dim));
  swiglu(gu.data(), rows, dim, packed.data());
  for (int64_t r = 0; r < rows; ++r) {
    swiglu(gu.data() + r * 2 * dim, gu.data() + r * 2 * dim + dim, dim, split.data());
    for (int64_t i = 0; i < dim; ++i) EXPECT_EQ(packed[size_t(r * dim + i)], split[size_t(i)]);
  }
}
