// The bf16 GEMM's packed-B entry (gemm_bf16_packed) and the shapes that exercise its tiling: row
// strips and 32-column panels with ragged edges, odd K (a bf16 pair with a zero partner), panel
// blocks of long K, both operand layouts of A, one and two threads. Checked against a double
// product of the bf16-rounded inputs (an independent reference), and against gemm_bf16.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/gemm_bf16.h"
#include "kernels/matmul.h"

namespace sputnik {
namespace {

struct Case {
  int64_t m, n, k;
};

double rounded(float x) { return double(bf16_to_f32(f32_to_bf16(x))); }

// Number of entries of C that miss alpha·op(A)·op(B) + beta·C0 (bf16-rounded inputs, exact
// products; f32 accumulation allowed 2e-6 of the magnitude).
int mismatches(bool ta, bool tb, const Case& s, float alpha, float beta, const std::vector<float>& a, int64_t lda,
               const std::vector<float>& b, int64_t ldb, const std::vector<float>& c0, const std::vector<float>& c,
               int64_t ldc) {
  int bad = 0;
  for (int64_t i = 0; i < s.m; ++i)
    for (int64_t j = 0; j < s.n; ++j) {
      double sum = 0, mag = 0;
      for (int64_t p = 0; p < s.k; ++p) {
        const double x = rounded(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]);
        const double y = rounded(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
        sum += x * y;
        mag += std::fabs(x * y);
      }
      const double ref = alpha * sum + (beta == 0.0f ? 0.0 : beta * c0[size_t(i * ldc + j)]);
      const double got = c[size_t(i * ldc + j)];
      if (!(std::fabs(got - ref) <= 2e-6 * std::fabs(alpha) * mag + 1e-6) && bad++ < 3)
        ADD_FAILURE() << "ta=" << ta << " tb=" << tb << " " << s.m << "x" << s.n << "x" << s.k << " [" << i << ","
                      << j << "] " << got << " vs " << ref;
    }
  return bad;
}

class GemmBf16Packed : public ::testing::TestWithParam<int> {  // param: threads
 protected:
  void SetUp() override { set_num_threads(GetParam()); }
  void TearDown() override { set_num_threads(0); }
};

TEST_P(GemmBf16Packed, MatchesRoundedDoubleProductOnRaggedShapes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  // Strips of 8 rows and panels of 32 columns with remainders; k odd and even; one shape with
  // long K so that the 32-column panels are blocked for L2; m < 8 and n < 16.
  const Case cases[] = {{29, 70, 33}, {8, 32, 2}, {3, 5, 1}, {24, 300, 801}, {17, 16, 64}, {130, 9, 47}};
  for (const Case& s : cases) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const int64_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 1, ldc = s.n + 5;
        std::vector<float> a(size_t((ta ? s.k : s.m) * lda)), b(size_t((tb ? s.n : s.k) * ldb));
        std::vector<float> c0(size_t(s.m * ldc));
        for (auto& v : a) v = dist(rng);
        for (auto& v : b) v = dist(rng);
        for (auto& v : c0) v = dist(rng);
        PackedB pb;
        pack_b_bf16(tb, s.k, s.n, b.data(), ldb, pb);
        for (float beta : {0.0f, -0.75f}) {
          std::vector<float> c = c0;
          // beta = 0 must not read C: NaNs there would survive a 0·C.
          if (beta == 0.0f)
            for (int64_t i = 0; i < s.m; ++i)
              for (int64_t j = 0; j < s.n; ++j) c[size_t(i * ldc + j)] = std::numeric_limits<float>::quiet_NaN();
          gemm_bf16_packed(ta, s.m, 1.5f, a.data(), lda, pb, beta, c.data(), ldc);
          EXPECT_EQ(mismatches(ta, tb, s, 1.5f, beta, a, lda, b, ldb, c0, c, ldc), 0);
          // Columns past n (inside ldc) untouched.
          for (int64_t i = 0; i < s.m; ++i)
            for (int64_t j = s.n; j < ldc; ++j) ASSERT_EQ(c[size_t(i * ldc + j)], c0[size_t(i * ldc + j)]);
          // gemm_bf16 packs the same B on each call: the same bits.
          std::vector<float> c2 = c0;
          if (beta == 0.0f) c2 = c;
          gemm_bf16(ta, tb, s.m, s.n, s.k, 1.5f, a.data(), lda, b.data(), ldb, beta, c2.data(), ldc);
          EXPECT_EQ(c2, c) << "ta=" << ta << " tb=" << tb << " " << s.m << "x" << s.n << "x" << s.k;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, GemmBf16Packed, ::testing::Values(1, 2));

TEST(GemmBf16Packed, OnePackingServesManyProducts) {
  std::mt19937 rng(8);
  std::uniform_real_distribution<float> dist(-2, 2);
  const Case s{50, 45, 40};
  std::vector<float> b(size_t(s.k * s.n));
  for (auto& v : b) v = dist(rng);
  PackedB pb;
  pack_b_bf16(false, s.k, s.n, b.data(), s.n, pb);
  EXPECT_EQ(pb.k, s.k);
  EXPECT_EQ(pb.n, s.n);
  for (int round = 0; round < 3; ++round) {
    std::vector<float> a(size_t(s.m * s.k)), c0(size_t(s.m * s.n), 0.0f);
    for (auto& v : a) v = dist(rng);
    std::vector<float> c = c0;
    gemm_bf16_packed(false, s.m, 1.0f, a.data(), s.k, pb, 0.0f, c.data(), s.n);
    EXPECT_EQ(mismatches(false, false, s, 1.0f, 0.0f, a, s.k, b, s.n, c0, c, s.n), 0) << "round " << round;
  }
}

TEST(GemmBf16Packed, BlocksOfOnePackingMatchTheirOwnProducts) {
  // op(B) [k, n] packed once; products over rows [k0, k0 + kk) and the first nn columns must
  // equal gemm_bf16 on that block alone (odd kk takes a partner row that A's zero cancels).
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> dist(-1, 1);
  const int64_t k = 75, n = 70, m = 13;
  for (bool tb : {false, true}) {
    const int64_t ldb = (tb ? k : n) + 2;
    std::vector<float> b(size_t((tb ? n : k) * ldb));
    for (auto& v : b) v = dist(rng);
    PackedB pb;
    pack_b_bf16(tb, k, n, b.data(), ldb, pb);
    struct Part {
      int64_t k0, kk, nn;
    };
    for (const Part& part : {Part{0, 75, 70}, Part{0, 33, 40}, Part{2, 73, 70}, Part{64, 11, 3}, Part{10, 0, 5}}) {
      for (bool ta : {false, true}) {
        const int64_t lda = (ta ? m : part.kk) + 1, ldc = part.nn + 1;
        std::vector<float> a(size_t((ta ? part.kk : m) * lda + 1));
        for (auto& v : a) v = dist(rng);
        std::vector<float> c(size_t(m * ldc), 0.25f), want = c;
        gemm_bf16_packed_part(ta, m, part.nn, part.k0, part.kk, 1.0f, a.data(), lda, pb, 0.5f, c.data(), ldc);
        const float* bsub = tb ? b.data() + part.k0 : b.data() + part.k0 * ldb;
        gemm_bf16(ta, tb, m, part.nn, part.kk, 1.0f, a.data(), lda, bsub, ldb, 0.5f, want.data(), ldc);
        EXPECT_EQ(c, want) << "tb=" << tb << " ta=" << ta << " k0=" << part.k0 << " k=" << part.kk;
      }
    }
    std::vector<float> a(64), c(64);
    EXPECT_THROW(gemm_bf16_packed_part(false, 1, 4, 1, 4, 1.0f, a.data(), 4, pb, 0.0f, c.data(), 4), Error);  // odd k0
    EXPECT_THROW(gemm_bf16_packed_part(false, 1, 4, 72, 4, 1.0f, a.data(), 4, pb, 0.0f, c.data(), 4), Error);  // past k
    EXPECT_THROW(gemm_bf16_packed_part(false, 1, 71, 0, 4, 1.0f, a.data(), 4, pb, 0.0f, c.data(), 4), Error);  // past n
  }
}

TEST(GemmBf16Packed, InputsAreRoundedToNearestEven) {
  // 1 + 2^-8 is a tie between bf16 neighbours 1 and 1 + 2^-7: it rounds to even (1). 1 + 3·2^-9
  // rounds up. Unrounded, the product with 1 would show the low bits.
  const float a[2] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 512};
  const float b[2] = {1.0f, 1.0f};
  PackedB pb;
  pack_b_bf16(false, 1, 2, b, 2, pb);
  float c[4] = {};
  gemm_bf16_packed(false, 2, 1.0f, a, 1, pb, 0.0f, c, 2);
  EXPECT_EQ(c[0], 1.0f);
  EXPECT_EQ(c[1], 1.0f);
  EXPECT_EQ(c[2], 1.0f + 1.0f / 128);
  EXPECT_EQ(c[3], 1.0f + 1.0f / 128);
}

}  // namespace
}  // namespace sputnik
