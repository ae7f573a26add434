// The group-major unpack straight from Q8_0/Q4_0 blocks (vectorized on AVX-512) against the
// two-step reference (unpack_rows, then to_group_rows) for row lengths that cover whole
// super-groups, a trailing half super-group, and blocks left over for the scalar tail.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/cpu.h"
#include "kernels/qgemm_group.h"
#include "test_weights.h"

namespace sputnik {
namespace {

void expect_same(const qg::GroupRows& a, const qg::GroupRows& b, const std::string& what) {
  ASSERT_EQ(a.count, b.count) << what;
  ASSERT_EQ(a.kq, b.kq) << what;
  ASSERT_EQ(a.q.size(), b.q.size()) << what;
  for (size_t i = 0; i < a.q.size(); ++i) ASSERT_EQ(a.q[i], b.q[i]) << what << " piece " << i;
  const size_t ng = size_t(a.count * a.kq / 16);
  for (size_t i = 0; i < ng; ++i) ASSERT_EQ(a.scale[i], b.scale[i]) << what << " scale " << i;
}

TEST(UnpackGroupRows, MatchesTwoStepUnpackOnEveryPath) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    for (int64_t k : {32, 96, 128, 160, 224, 256, 320, 384, 480, 512, 896, 1408, 2048}) {
      const int64_t rows = 5;
      const test::Weight w = test::make_weight(t, rows, k, uint32_t(k));
      qg::Rows canonical;
      qg::GroupRows expected;
      qg::unpack_rows(w.view, 1, 3, /*offset128=*/true, canonical);
      qg::to_group_rows(canonical, expected);
      for (Isa isa : {Isa::Scalar, Isa::Avx512}) {
        if (isa > best_isa()) continue;
        set_isa_cap(isa);
        qg::GroupRows got;
        ASSERT_TRUE(qg::unpack_group_rows(w.view, 1, 3, got));
        expect_same(got, expected, std::string(dtype_name(t)) + " k=" + std::to_string(k) + " " + std::string(isa_name(isa)));
      }
      set_isa_cap(Isa::Avx512);
    }
  }
}

}  // namespace
}  // namespace sputnik
