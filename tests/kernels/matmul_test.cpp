// matmul for every weight dtype × ISA path × batch size against a double-precision product of
// the dequantized weights (dequantization itself is checked against llama.cpp in quant_test).
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"
#include "kernels/tiles.h"
#include "test_weights.h"

using namespace sputnik;

namespace {

using test::Weight;
using test::make_weight;
constexpr auto kRows = TensorView::PanelAxis::Rows;
constexpr auto kCols = TensorView::PanelAxis::Cols;

std::vector<float> make_acts(int64_t n, int64_t in, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(size_t(n * in));
  for (auto& v : x) v = dist(rng);
  for (int64_t t = 0; t < n; ++t) x[size_t(t * in + (t * 7) % in)] *= 20.0f;  // activation outliers
  return x;
}

// Reference for y = x·wᵀ in double, with the error allowed. With int8 activations each x_i is
// replaced by d·q_i with |x_i − d·q_i| ≤ d/2, d = amax(block of 32)/127, so the product can
// move by at most Σ_blocks d/2 · Σ|w_i|; on top of that f32 accumulation is allowed
// 1e-5 · Σ|w_i x_i|.
struct Reference {
  std::vector<double> y, tol_exact, tol_quant;
};

Reference reference(const Weight& w, const std::vector<float>& x, int64_t n) {
  const int64_t out = w.view.rows(), in = w.view.cols();
  Reference r;
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x.data() + t * in;
    for (int64_t o = 0; o < out; ++o) {
      const float* wo = w.deq.data() + o * in;
      double ref = 0, mag = 0, qbound = 0;
      for (int64_t i = 0; i < in; ++i) {
        ref += double(wo[i]) * xt[i];
        mag += std::fabs(double(wo[i]) * xt[i]);
      }
      for (int64_t b = 0; b < in / 32; ++b) {
        double amax = 0, wsum = 0;
        for (int i = 0; i < 32; ++i) {
          amax = std::max(amax, std::fabs(double(xt[32 * b + i])));
          wsum += std::fabs(double(wo[32 * b + i]));
        }
        qbound += amax / 127 / 2 * wsum;
      }
      r.y.push_back(ref);
      r.tol_exact.push_back(1e-5 * mag + 1e-6);
      r.tol_quant.push_back(qbound * 1.001 + 1e-5 * mag + 1e-6);
    }
  }
  return r;
}

void check(const Reference& ref, const std::vector<float>& y, int64_t out, bool quantized_acts, const std::string& what) {
  int bad = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double tol = quantized_acts ? ref.tol_quant[i] : ref.tol_exact[i];
    if (!(std::fabs(y[i] - ref.y[i]) <= tol) && bad++ < 5)
      ADD_FAILURE() << what << " y[" << i / size_t(out) << "][" << i % size_t(out) << "] = " << y[i] << ", expected "
                    << ref.y[i] << " ± " << tol;
  }
  EXPECT_EQ(bad, 0) << what;
}

const Isa kIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};

// matmul(view) (w's weights, maybe in another layout) for n activation rows on every ISA path,
// exact and with quantized activations, against the double reference of w.
void check_every_path(const TensorView& view, const Weight& w, const std::vector<float>& x, int64_t n,
                      const std::string& label) {
  const int64_t out = w.view.rows(), in = w.view.cols();
  const Reference ref = reference(w, x, n);
  for (Isa isa : kIsas) {
    if (isa > best_isa()) continue;
    set_isa_cap(isa);
    for (bool exact : {false, true}) {
      set_matmul_exact(exact);
      std::vector<float> y(size_t(n * out), NAN);
      matmul(view, x.data(), n, y.data());
      const std::string what = label + std::string(dtype_name(w.view.dtype)) + " " + std::to_string(out) + "x" +
                               std::to_string(in) + " n=" + std::to_string(n) + " " + std::string(isa_name(isa)) +
                               (exact ? " exact" : "");
      check(ref, y, out, dtype_is_quantized(w.view.dtype) && !exact, what);
    }
  }
}

const DType kTypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q6_K};

class MatmulTest : public ::testing::TestWithParam<DType> {
 protected:
  void TearDown() override {
    set_isa_cap(Isa::Avx512);
    set_matmul_exact(false);
    set_num_threads(0);
  }
};

}  // namespace

TEST_P(MatmulTest, MatchesDoubleReferenceOnEveryPath) {
  const DType t = GetParam();
  const bool kquant = t == DType::Q4_K || t == DType::Q6_K;
  // Odd output counts exercise row-tile remainders; 96 is not a multiple of the 64-value chunk;
  // 224 = one 128-value step of the Q4_0 decode kernel plus three blocks (a pair and a single).
  const std::vector<std::pair<int64_t, int64_t>> shapes =
      kquant ? std::vector<std::pair<int64_t, int64_t>>{{37, 256}, {19, 768}}
             : std::vector<std::pair<int64_t, int64_t>>{{37, 96}, {19, 512}, {5, 32}, {7, 224}};
  for (auto [out, in] : shapes) {
    const Weight w = make_weight(t, out, in, uint32_t(out * 131 + in));
    for (int64_t n : {1, 3, 17, 64}) {
      const auto x = make_acts(n, in, uint32_t(n * 7 + in));
      check_every_path(w.view, w, x, n, "");
    }
  }
}

TEST_P(MatmulTest, ThreadCountDoesNotChangeResults) {
  const DType t = GetParam();
  const int64_t out = 203, in = 512;
  const Weight w = make_weight(t, out, in, 5);
  for (int64_t n : {1, 17}) {
    const auto x = make_acts(n, in, 9);
    for (Isa isa : kIsas) {
      if (isa > best_isa()) continue;
      set_isa_cap(isa);
      std::vector<float> y1(size_t(n * out)), y2(size_t(n * out));
      set_num_threads(1);
      matmul(w.view, x.data(), n, y1.data());
      set_num_threads(2);
      matmul(w.view, x.data(), n, y2.data());
      EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0)
          << dtype_name(t) << " n=" << n << " " << isa_name(isa);
    }
  }
}

// The same products with W in the Tiles16 layout (kernels/tiles.h): tiled rows on the AVX-512
// decode kernels, the rows past the last tile, prefill and the other ISAs through untiling.
TEST(Matmul, TiledWeightsMatchDoubleReferenceOnEveryPath) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    // 384 = 1.5 super-groups of 256 (a trailing half); 512 and 384 take whole tiles straight to
    // the prefill layout (unpack_tile_avx512), the others untile rows first.
    for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{{37, 96}, {48, 224}, {16, 32}, {203, 512}, {40, 384}}) {
      const Weight w = make_weight(t, out, in, uint32_t(out * 17 + in));
      std::vector<std::byte> tiled_bytes(w.view.nbytes);
      ASSERT_TRUE(can_tile(w.view));
      const TensorView tiled = tile_into(w.view, tiled_bytes.data());
      for (int64_t n : {1, 3, 4, 17, 64}) {
        const auto x = make_acts(n, in, uint32_t(n * 5 + in));
        check_every_path(tiled, w, x, n, "tiled ");
        set_isa_cap(Isa::Avx512);
        set_matmul_exact(false);
        if (n > qg::kMaxFusedN) {  // prefill unpacks tiles into exactly what the stored rows give
          std::vector<float> a(size_t(n * out)), b(size_t(n * out));
          matmul(w.view, x.data(), n, a.data());
          matmul(tiled, x.data(), n, b.data());
          EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0) << dtype_name(t) << " " << out << "x" << in;
        }
        // Thread count does not change results; one and two threads, bit for bit.
        std::vector<float> y1(size_t(n * out)), y2(size_t(n * out));
        set_num_threads(1);
        matmul(tiled, x.data(), n, y1.data());
        set_num_threads(2);
        matmul(tiled, x.data(), n, y2.data());
        set_num_threads(0);
        EXPECT_EQ(std::memcmp(y1.data(), y2.data(), y1.size() * 4), 0) << dtype_name(t) << " n=" << n;
      }
    }
  }
}

// Column panels (TensorView::panels): the stored bytes read back as the matrix; a decode product
// is the sum of the panels' products in panel order, and a prefill GEMM reads the rows whole
// (what the stored rows give), bit for bit, at every thread count.
TEST(Matmul, ColumnPanelsReadBackAndSumThePanelProducts) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const int64_t out = 48, in = 192;
    const Weight w = make_weight(t, out, in, 11);
    for (int panels : {2, 3}) {
      ASSERT_TRUE(can_tile_panels(w.view, panels, kCols));
      std::vector<std::byte> bytes(w.view.nbytes), back(w.view.nbytes);
      const TensorView p = tile_panels_into(w.view, panels, kCols, bytes.data());
      EXPECT_EQ(p.panels, panels);
      untile_rows(p, 0, out, back.data());
      EXPECT_EQ(std::memcmp(back.data(), w.view.data, w.view.nbytes), 0) << dtype_name(t);
      untile_rows(p, 21, 9, back.data());
      EXPECT_EQ(std::memcmp(back.data(), w.view.data + 21 * w.view.row_bytes(), 9 * w.view.row_bytes()), 0);
      std::vector<float> a(size_t(out * in)), b(size_t(out * in));
      dequantize_rows(w.view, 0, out, a.data());
      dequantize_rows(p, 0, out, b.data());
      EXPECT_EQ(a, b);
      // Panel 1 is the tiled columns [in/panels, 2·in/panels) of the matrix.
      std::vector<float> col(size_t(out * (in / panels)));
      dequantize_rows(p.panel(1), 0, out, col.data());
      for (int64_t r = 0; r < out; ++r)
        for (int64_t c = 0; c < in / panels; ++c)
          ASSERT_EQ(col[size_t(r * (in / panels) + c)], a[size_t(r * in + in / panels + c)]);
      for (int64_t n : {1, 2, 64}) {
        const auto x = make_acts(n, in, uint32_t(n + panels));
        std::vector<float> want(size_t(n * out)), part(size_t(n * out)), xs(size_t(n * (in / panels)));
        if (n > qg::kMaxFusedN) matmul(w.view, x.data(), n, want.data());
        for (int q = 0; q < panels && n <= qg::kMaxFusedN; ++q) {
          for (int64_t i = 0; i < n; ++i)
            std::copy_n(x.data() + i * in + q * (in / panels), in / panels, xs.data() + i * (in / panels));
          matmul(p.panel(q), xs.data(), n, q == 0 ? want.data() : part.data());
          if (q > 0)
            for (size_t i = 0; i < want.size(); ++i) want[i] += part[i];
        }
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          std::vector<float> y(size_t(n * out));
          matmul(p, x.data(), n, y.data());
          EXPECT_EQ(std::memcmp(y.data(), want.data(), y.size() * 4), 0) << dtype_name(t) << " n=" << n;
          // The same matrix, whatever its layout: close to the product with the stored rows.
          std::vector<float> plain(size_t(n * out));
          matmul(w.view, x.data(), n, plain.data());
          for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], plain[i], 1e-4f * (1.0f + std::fabs(plain[i])));
        }
        set_num_threads(0);
        // matmul_many hands a job in panels to matmul().
        std::vector<float> y(size_t(n * out));
        const MatmulJob job{&p, x.data(), n, y.data()};
        EXPECT_FALSE(matmul_rows_applies(job));
        matmul_many(&job, 1);
        EXPECT_EQ(std::memcmp(y.data(), want.data(), y.size() * 4), 0);
      }
    }
    EXPECT_FALSE(can_tile_panels(w.view, 4, kCols));  // 48 columns a panel: not whole blocks
    EXPECT_FALSE(can_tile_panels(make_weight(t, 40, 192, 3).view, 2, kCols));  // rows past the last tile
  }
}

// Row panels (TensorView::panels) laid out apart, as formats/decode_tiles.h lays out a decode
// team's streams (other bytes between them): read back as the matrix, and every product (decode
// and prefill, matmul_many, rows of a rank through matmul_rows across a panel's edge, exact
// mode) is bit for bit the one with the matrix tiled whole, which reads each row the same way.
TEST(Matmul, RowPanelsApartReadBackAndMultiplyAsTheWholeTiles) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const int64_t out = 96, in = 192;
    const Weight w = make_weight(t, out, in, 12);
    std::vector<std::byte> whole_bytes(w.view.nbytes);
    const TensorView whole = tile_into(w.view, whole_bytes.data());
    for (int panels : {2, 3}) {
      ASSERT_TRUE(can_tile_panels(w.view, panels, kRows));
      const size_t part = w.view.nbytes / size_t(panels), stride = part + 192;
      std::vector<std::byte> bytes(stride * size_t(panels), std::byte{0xab}), back(w.view.nbytes);
      const TensorView p = tile_panels_into(w.view, panels, kRows, bytes.data(), stride);
      EXPECT_TRUE(p.row_panels());
      EXPECT_EQ(p.panel(1).data, bytes.data() + stride);
      EXPECT_EQ(p.panel(1).rows(), out / panels);
      EXPECT_EQ(std::memcmp(p.panel(1).data, whole.data + part, part), 0);  // panel 1: tiles of its rows
      EXPECT_EQ(bytes[part], std::byte{0xab});  // nothing written between the panels
      untile_rows(p, 0, out, back.data());
      EXPECT_EQ(std::memcmp(back.data(), w.view.data, w.view.nbytes), 0) << dtype_name(t);
      untile_rows(p, 21, 40, back.data());  // across a panel's edge
      EXPECT_EQ(std::memcmp(back.data(), w.view.data + 21 * w.view.row_bytes(), 40 * w.view.row_bytes()), 0);
      for (int64_t n : {1, 3, 64}) {
        const auto x = make_acts(n, in, uint32_t(n + 7 * panels));
        std::vector<float> want(size_t(n * out)), exact_want(size_t(n * out));
        set_num_threads(1);
        matmul(whole, x.data(), n, want.data());
        set_matmul_exact(true);
        matmul(whole, x.data(), n, exact_want.data());
        set_matmul_exact(false);
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          std::vector<float> y(size_t(n * out), -1.0f);
          matmul(p, x.data(), n, y.data());
          EXPECT_EQ(std::memcmp(y.data(), want.data(), y.size() * 4), 0) << dtype_name(t) << " n=" << n;
          std::fill(y.begin(), y.end(), -1.0f);
          const MatmulJob job{&p, x.data(), n, y.data()};
          matmul_many(&job, 1);
          EXPECT_EQ(std::memcmp(y.data(), want.data(), y.size() * 4), 0) << "matmul_many n=" << n;
          set_matmul_exact(true);
          matmul(p, x.data(), n, y.data());
          set_matmul_exact(false);
          EXPECT_EQ(std::memcmp(y.data(), exact_want.data(), y.size() * 4), 0) << "exact n=" << n;
        }
        set_num_threads(0);
        const MatmulJob job{&p, x.data(), n, nullptr};
        if (n > qg::kMaxFusedN || !matmul_rows_applies(job)) continue;  // matmul_rows: AVX-512 decode
        std::vector<float> y(size_t(n * out), -1.0f);
        const MatmulJob rows_job{&p, x.data(), n, y.data()};
        const RowRange across{16, 80};
        matmul_rows(&rows_job, &across, 1);
        for (int64_t i = 0; i < n; ++i)
          for (int64_t o = 0; o < out; ++o) {
            const float expect = o >= across.begin && o < across.end ? want[size_t(i * out + o)] : -1.0f;
            ASSERT_EQ(y[size_t(i * out + o)], expect) << "row " << o;
          }
      }
    }
    EXPECT_FALSE(can_tile_panels(w.view, 4, kRows));  // 24 rows a panel: not whole tiles
  }
}

TEST(Matmul, TiledRowsReadBackAsStored) {
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    const Weight w = make_weight(t, 53, 224, 3);
    std::vector<std::byte> tiled_bytes(w.view.nbytes), back(w.view.nbytes);
    const TensorView tiled = tile_into(w.view, tiled_bytes.data());
    // The layout really moved bytes (a no-op tiling would pass the round trip); the 5 rows past
    // the last tile stay as they were.
    EXPECT_NE(std::memcmp(tiled_bytes.data(), w.view.data, w.view.row_bytes()), 0);
    EXPECT_EQ(std::memcmp(tiled_bytes.data() + 48 * w.view.row_bytes(), w.view.data + 48 * w.view.row_bytes(),
                          5 * w.view.row_bytes()),
              0);
    EXPECT_EQ(tiled.row_major_from(), 48);
    untile_rows(tiled, 0, 53, back.data());
    EXPECT_EQ(std::memcmp(back.data(), w.view.data, w.view.nbytes), 0) << dtype_name(t);
    untile_rows(tiled, 13, 40, back.data());  // across tiles and into the row-major tail
    EXPECT_EQ(std::memcmp(back.data(), w.view.data + 13 * w.view.row_bytes(), 40 * w.view.row_bytes()), 0);
    std::vector<float> a(size_t(53 * 224)), b(size_t(53 * 224));
    dequantize_rows(w.view, 0, 53, a.data());
    dequantize_rows(tiled, 0, 53, b.data());
    EXPECT_EQ(a, b);
    EXPECT_THROW(tiled.slice(0, 16), Error);
    EXPECT_FALSE(can_tile(tiled));  // already tiled
    EXPECT_FALSE(can_tile(make_weight(t, 15, 224, 3).view));  // no whole tile
  }
}

INSTANTIATE_TEST_SUITE_P(Types, MatmulTest, ::testing::ValuesIn(kTypes),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(Matmul, QuantizedActivationsAreNotExact) {
  // Guards the tolerance above from being vacuous: the integer path really differs from exact.
  const Weight w = make_weight(DType::Q8_0, 16, 256, 1);
  const auto x = make_acts(1, 256, 2);
  std::vector<float> a(16), b(16);
  matmul(w.view, x.data(), 1, a.data());
  set_matmul_exact(true);
  matmul(w.view, x.data(), 1, b.data());
  set_matmul_exact(false);
  EXPECT_NE(std::memcmp(a.data(), b.data(), 64), 0);
}

TEST(Matmul, DequantizedOnlyTypesStillMultiply) {
  // Q4_1 has no integer kernel; matmul falls back to dequantized f32 rows.
  std::vector<uint8_t> bytes(20 * 3);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i * 37 + 11);
  for (int r = 0; r < 3; ++r) {  // sane scales: d = 0.5, m = -1
    const uint16_t d = f32_to_f16(0.5f), m = f32_to_f16(-1.0f);
    std::memcpy(&bytes[size_t(r * 20)], &d, 2);
    std::memcpy(&bytes[size_t(r * 20 + 2)], &m, 2);
  }
  TensorView v{"q41", DType::Q4_1, {3, 32}, reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()};
  std::vector<float> x(32), deq(96), y(3);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = float(i % 5) - 2.0f;
  dequantize_rows(v, 0, 3, deq.data());
  matmul(v, x.data(), 1, y.data());
  for (int r = 0; r < 3; ++r) {
    double ref = 0;
    for (int i = 0; i < 32; ++i) ref += double(deq[size_t(r * 32 + i)]) * x[size_t(i)];
    EXPECT_NEAR(y[size_t(r)], ref, 1e-4);
  }
}

TEST(Matmul, RejectsBadTensors) {
  std::vector<float> data(64), x(64), y(64);
  TensorView v{"w", DType::F32, {64}, reinterpret_cast<const std::byte*>(data.data()), 256};
  EXPECT_THROW(matmul(v, x.data(), 1, y.data()), Error);  // 1-D
  v.shape = {2, 32};
  v.dtype = DType::I32;
  EXPECT_THROW(matmul(v, x.data(), 1, y.data()), Error);  // no kernel
  v.dtype = DType::Q8_0;
  v.nbytes = 10;
  EXPECT_THROW(matmul(v, x.data(), 1, y.data()), Error);  // too few bytes
  v.dtype = DType::F32;
  v.nbytes = 256;
  EXPECT_THROW(dequantize_rows(v, 1, 2, y.data()), Error);  // rows out of range
}

TEST(Matmul, StackedExpertSliceIsRowsByCols) {
  // [experts=3, out=5, in=64] Q8_0; expert 1 sliced keeps rank 3 and multiplies as 5 × 64.
  const Weight w = make_weight(DType::Q8_0, 15, 64, 8);
  TensorView stacked = w.view;
  stacked.shape = {3, 5, 64};
  const TensorView e1 = stacked.slice(1, 1);
  const auto x = make_acts(2, 64, 3);
  std::vector<float> y(10), y2(10);
  matmul(e1, x.data(), 2, y.data());
  TensorView flat = w.view.slice(5, 5);  // the same rows as a plain 2-D view
  matmul(flat, x.data(), 2, y2.data());
  EXPECT_EQ(y, y2);
}

TEST(GemmF32, AllTransposesMatchDouble) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  const int64_t m = 23, n = 41, k = 37;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      // Leading dimensions larger than the logical width.
      const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
      std::vector<float> a(size_t((ta ? k : m) * lda)), b(size_t((tb ? n : k) * ldb)), c(size_t(m * ldc));
      for (auto& v : a) v = dist(rng);
      for (auto& v : b) v = dist(rng);
      for (auto& v : c) v = dist(rng);
      const std::vector<float> c0 = c;
      gemm_f32(ta, tb, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, -2.0f, c.data(), ldc);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t p = 0; p < k; ++p)
            s += double(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]) *
                 double(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]);
          const double ref = 0.5 * s - 2.0 * c0[size_t(i * ldc + j)];
          ASSERT_NEAR(c[size_t(i * ldc + j)], ref, 1e-4) << ta << tb << " " << i << "," << j;
        }
    }
  }
}

TEST(GemmBf16, MatchesDoubleProductOfRoundedInputs) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> dist(-1, 1);
  const int64_t m = 21, n = 38, k = 70;  // k not a multiple of 32: zero padding
  for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
    if (isa > best_isa()) continue;
    set_isa_cap(isa);
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        const int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
        std::vector<float> a(size_t((ta ? k : m) * lda)), b(size_t((tb ? n : k) * ldb)), c(size_t(m * ldc));
        for (auto& v : a) v = dist(rng);
        for (auto& v : b) v = dist(rng);
        for (auto& v : c) v = dist(rng);
        const std::vector<float> c0 = c;
        for (float beta : {0.0f, 0.5f}) {
          c = c0;
          gemm_bf16(ta, tb, m, n, k, 2.0f, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          int bad = 0;
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double s = 0, mag = 0;
              for (int64_t p = 0; p < k; ++p) {
                const double x = bf16_to_f32(f32_to_bf16(ta ? a[size_t(p * lda + i)] : a[size_t(i * lda + p)]));
                const double y = bf16_to_f32(f32_to_bf16(tb ? b[size_t(j * ldb + p)] : b[size_t(p * ldb + j)]));
                s += x * y;
                mag += std::fabs(x * y);
              }
              const double ref = 2.0 * s + beta * c0[size_t(i * ldc + j)];
              // f32 accumulation of exact bf16 products; inputs NOT rounded would miss by ~1e-3.
              if (!(std::fabs(c[size_t(i * ldc + j)] - ref) <= 2e-6 * mag + 1e-6) && bad++ < 3)
                ADD_FAILURE() << isa_name(isa) << " ta=" << ta << " tb=" << tb << " beta=" << beta << " [" << i << ","
                              << j << "] " << c[size_t(i * ldc + j)] << " vs " << ref;
            }
          EXPECT_EQ(bad, 0);
        }
        // Columns beyond n are untouched.
        for (int64_t i = 0; i < m; ++i) EXPECT_EQ(c[size_t(i * ldc + n)], c0[size_t(i * ldc + n)]);
      }
    }
  }
  set_isa_cap(Isa::Avx512);
}

// Below 16 blocks, one block at a time; from 16 on, 16 at once (896 = 16 + 12, 4864 = 9 × 16 + 8).
TEST(ActQuant, VectorPathGivesTheScalarBytes) {
  if (best_isa() != Isa::Avx512) GTEST_SKIP() << "no AVX-512 on this CPU";
  for (int64_t k : {32 * 9, 512, 896, 4864}) {
    auto x = make_acts(1, k, 11);
    for (int j = 32; j < 64; ++j) x[size_t(j)] = 0.0f;                          // all-zero block
    for (int j = 64; j < 96; ++j) x[size_t(j)] = float(j - 80) * 0.5f;          // ties at .5
    for (int j = 128; j < 160; ++j) x[size_t(j)] = j == 150 ? -1e30f : 1e-30f;  // extremes in one block
    const int64_t blocks = k / 32;
    std::vector<int8_t> q1(static_cast<size_t>(k)), q2(static_cast<size_t>(k));
    std::vector<float> d1(size_t(blocks), -1.0f), d2(size_t(blocks), -2.0f);
    std::vector<int32_t> s1(size_t(2 * blocks), -1), s2(size_t(2 * blocks), -2);
    qg::quantize_act_row_scalar(x.data(), k, q1.data(), d1.data(), s1.data());
    qg::quantize_act_row_avx512(x.data(), k, q2.data(), d2.data(), s2.data());
    EXPECT_EQ(q1, q2) << k;
    EXPECT_EQ(d1, d2) << k;
    EXPECT_EQ(s1, s2) << k;
    EXPECT_EQ(d1[1], 0.0f);
    EXPECT_NE(s1[0], 0);
  }
}

namespace {

// ActForms::Tiles fills what the tiled decode kernel reads exactly as All does, and a row-major
// decode kernel refuses activations without the lane forms instead of reading stale ones.
TEST(ActQuant, TileFormsAreThoseOfAllForms) {
  const int64_t k = 32 * 7, n = 2;
  const auto x = make_acts(n, k, 21);
  qg::Acts all, tiles;
  qg::quantize_acts(x.data(), n, k, all, qg::ActForms::All);
  qg::quantize_acts(x.data(), n, k, tiles, qg::ActForms::Tiles);
  EXPECT_TRUE(all.all_forms);
  EXPECT_FALSE(tiles.all_forms);
  EXPECT_EQ(all.q, tiles.q);
  EXPECT_EQ(all.block_scale, tiles.block_scale);
  EXPECT_EQ(all.group_neg, tiles.group_neg);
  // group_neg is −Σq of each 16 values.
  for (int64_t g = 0; g < k / 16; ++g) {
    int32_t sum = 0;
    for (int j = 0; j < 16; ++j) sum += all.q[size_t(16 * g + j)];
    EXPECT_EQ(all.group_neg[size_t(g)], -sum) << g;
  }
  if (best_isa() != Isa::Avx512) return;
  set_isa_cap(Isa::Avx512);
  const Weight w = make_weight(DType::Q8_0, 16, k, 5);
  std::vector<float> y(size_t(n * 16));
  EXPECT_THROW(qg::gemv_avx512(w.view, 0, 16, tiles, y.data(), 16), Error);
  EXPECT_TRUE(qg::gemv_avx512(w.view, 0, 16, all, y.data(), 16));
}

}  // namespace
