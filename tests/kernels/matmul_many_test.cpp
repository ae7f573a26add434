// matmul_many (several products in one parallel region) against matmul() job by job, bit for
// bit, on every ISA path, for mixed dtypes, shapes and token counts (the fused decode path,
// the float row path and the fallback), and against a double product of the dequantized
// weights so that agreeing with a broken matmul() would not pass either.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "kernels/tiles.h"
#include "test_weights.h"

using namespace sputnik;

namespace {

using test::Weight;
using test::make_weight;

struct Case {
  DType t;
  int64_t out, in, n;
};

void check_isa(Isa isa, int threads) {
  set_isa_cap(isa);
  set_num_threads(threads);
  // Mixed: fused quantized types (n ≤ 4), float rows, a 6-token job (fallback), odd row counts.
  const std::vector<Case> cases = {{DType::Q8_0, 130, 96, 1},  {DType::Q4_0, 64, 256, 1}, {DType::Q4_K, 40, 512, 2},
                                   {DType::Q6_K, 33, 256, 1},  {DType::F32, 50, 64, 1},   {DType::BF16, 17, 96, 3},
                                   {DType::Q8_0, 300, 128, 6}, {DType::Q4_0, 7, 64, 4},   {DType::F16, 20, 32, 1}};
  std::vector<Weight> ws;
  std::vector<std::vector<float>> xs, ys, expect;
  std::vector<MatmulJob> jobs;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    ws.push_back(make_weight(c.t, c.out, c.in, uint32_t(100 + i)));
    xs.emplace_back(size_t(c.n * c.in));
    for (auto& v : xs.back()) v = dist(rng);
    ys.emplace_back(size_t(c.n * c.out), -1.0f);
    expect.emplace_back(size_t(c.n * c.out));
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    jobs.push_back({&ws[i].view, xs[i].data(), cases[i].n, ys[i].data()});
    matmul(ws[i].view, xs[i].data(), cases[i].n, expect[i].data());
  }
  matmul_many(jobs.data(), jobs.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    SCOPED_TRACE(std::string(dtype_name(c.t)) + " n=" + std::to_string(c.n) + " isa=" + std::string(isa_name(isa)) +
                 " threads=" + std::to_string(threads));
    for (size_t j = 0; j < ys[i].size(); ++j) ASSERT_EQ(ys[i][j], expect[i][j]) << "element " << j;
    // Against the double product: int8 activations allow ~1% of the row's |w|·|x| mass.
    for (int64_t t = 0; t < c.n; ++t)
      for (int64_t o = 0; o < c.out; ++o) {
        double ref = 0, mass = 0;
        for (int64_t k = 0; k < c.in; ++k) {
          const double p = double(ws[i].deq[size_t(o * c.in + k)]) * xs[i][size_t(t * c.in + k)];
          ref += p;
          mass += std::fabs(p);
        }
        ASSERT_NEAR(ys[i][size_t(t * c.out + o)], ref, 0.02 * mass + 1e-4) << "row " << o << " token " << t;
      }
  }
}

}  // namespace

TEST(MatmulMany, EqualsMatmulPerJobOnEveryPath) {
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (int(isa) > int(best_isa())) continue;
    for (int threads : {1, 2, 3}) check_isa(isa, threads);
  }
  set_isa_cap(Isa::Avx512);
}

TEST(MatmulMany, ExactModeAndEmptyBatch) {
  matmul_many(nullptr, 0);  // nothing to do, no crash
  Weight w = make_weight(DType::Q8_0, 24, 64, 3);
  std::vector<float> x(64, 0.5f), y(24), expect(24);
  set_matmul_exact(true);
  const MatmulJob job{&w.view, x.data(), 1, y.data()};
  matmul_many(&job, 1);
  matmul(w.view, x.data(), 1, expect.data());
  set_matmul_exact(false);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_EQ(y[i], expect[i]);
}

TEST(MatmulMany, BadTensorThrowsLikeMatmul) {
  Weight w = make_weight(DType::Q4_0, 16, 64, 4);
  TensorView shortened = w.view;
  shortened.nbytes -= 1;
  std::vector<float> x(64), y(16);
  const MatmulJob job{&shortened, x.data(), 1, y.data()};
  EXPECT_THROW(matmul_many(&job, 1), Error);
}

// Jobs reading the same input (q/k/v, every expert of a decode token) share one quantization of
// it; each result must still be what matmul() gives for that job alone, including a job on the
// same pointer with another row length and one on the same values at another address.
TEST(MatmulMany, SharedInputsGivePerJobResults) {
  const Weight a = make_weight(DType::Q8_0, 48, 128, 1), b = make_weight(DType::Q4_0, 80, 128, 2),
               c = make_weight(DType::Q8_0, 16, 64, 3), d = make_weight(DType::Q4_K, 24, 256, 4);
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  std::vector<float> x(2 * 256), x_copy;
  for (auto& v : x) v = dist(rng);
  x_copy = x;
  for (int64_t n : {1, 2}) {
    const std::vector<std::pair<const Weight*, const float*>> spec = {
        {&a, x.data()}, {&b, x.data()}, {&c, x.data()}, {&d, x.data()}, {&a, x_copy.data()}, {&b, x.data()}};
    std::vector<std::vector<float>> ys, expect;
    std::vector<MatmulJob> jobs;
    for (const auto& [w, in] : spec) {
      ys.emplace_back(size_t(n * w->view.rows()), -1.0f);
      expect.emplace_back(size_t(n * w->view.rows()));
      matmul(w->view, in, n, expect.back().data());
    }
    for (size_t i = 0; i < spec.size(); ++i) jobs.push_back({&spec[i].first->view, spec[i].second, n, ys[i].data()});
    matmul_many(jobs.data(), jobs.size());
    for (size_t i = 0; i < spec.size(); ++i) EXPECT_EQ(ys[i], expect[i]) << "job " << i << " n=" << n;
  }
}

// matmul_rows: a decode team's rank computes only its own rows (e.g. the q/k/v rows of its
// attention heads). Those rows must be matmul()'s bit for bit, the others untouched, for every
// dtype it takes, with shared inputs quantized once, and for tiled weights as run/serve load them.
TEST(MatmulRows, OwnRowsEqualMatmulOthersUntouched) {
  set_num_threads(2);
  const Weight a = make_weight(DType::Q8_0, 96, 128, 21), b = make_weight(DType::Q4_0, 64, 128, 22),
               c = make_weight(DType::F32, 40, 128, 23), d = make_weight(DType::Q4_K, 48, 256, 24),
               e = make_weight(DType::BF16, 24, 128, 25);
  std::vector<std::byte> a_tiles(a.view.nbytes), b_tiles(b.view.nbytes);
  const TensorView a_tiled = tile_into(a.view, a_tiles.data()), b_tiled = tile_into(b.view, b_tiles.data());
  std::mt19937 rng(5);
  std::normal_distribution<float> dist;
  std::vector<float> x(4 * 256);
  for (auto& v : x) v = dist(rng);
  for (int64_t n : {1, 3}) {
    const std::vector<std::pair<const TensorView*, RowRange>> spec = {
        {&a.view, {16, 48}}, {&b.view, {0, 64}}, {&c.view, {3, 17}},   {&d.view, {40, 48}},
        {&e.view, {0, 1}},   {&a_tiled, {32, 96}}, {&b_tiled, {16, 32}}, {&a.view, {5, 5}}};
    std::vector<std::vector<float>> ys, expect;
    std::vector<MatmulJob> jobs;
    std::vector<RowRange> rows;
    for (const auto& [w, r] : spec) {
      ys.emplace_back(size_t(n * w->rows()), -7.0f);
      expect.emplace_back(size_t(n * w->rows()));
      matmul(*w, x.data(), n, expect.back().data());
    }
    // Quantized weights go through the fused GEMV, which needs AVX-512; float ones anywhere.
    std::vector<size_t> taken;
    for (size_t i = 0; i < spec.size(); ++i) {
      const MatmulJob job{spec[i].first, x.data(), n, ys[i].data()};
      const bool quantized = spec[i].first->dtype != DType::F32 && spec[i].first->dtype != DType::BF16;
      if (quantized && active_isa() != Isa::Avx512) {
        EXPECT_FALSE(matmul_rows_applies(job)) << "job " << i;
        continue;
      }
      ASSERT_TRUE(matmul_rows_applies(job)) << "job " << i;
      jobs.push_back(job);
      rows.push_back(spec[i].second);
      taken.push_back(i);
    }
    matmul_rows(jobs.data(), rows.data(), jobs.size());
    for (size_t j = 0; j < taken.size(); ++j) {
      const size_t i = taken[j];
      const int64_t out = spec[i].first->rows();
      for (int64_t t = 0; t < n; ++t)
        for (int64_t o = 0; o < out; ++o) {
          const bool own = o >= rows[j].begin && o < rows[j].end;
          ASSERT_EQ(ys[i][size_t(t * out + o)], own ? expect[i][size_t(t * out + o)] : -7.0f)
              << "job " << i << " row " << o << " token " << t << " n=" << n;
        }
    }
  }
  // Not for what only matmul() serves: a 6-token product, exact mode.
  std::vector<float> y(6 * 96);
  const MatmulJob six{&a.view, x.data(), 6, y.data()};
  EXPECT_FALSE(matmul_rows_applies(six));
  set_matmul_exact(true);
  const MatmulJob one{&c.view, x.data(), 1, y.data()};
  EXPECT_TRUE(matmul_rows_applies(one));  // float rows are exact anyway
  const MatmulJob quantized{&a.view, x.data(), 1, y.data()};
  EXPECT_FALSE(matmul_rows_applies(quantized));
  set_matmul_exact(false);
  const RowRange outside{30, 41};
  EXPECT_THROW(matmul_rows(&one, &outside, 1), Error);
}
