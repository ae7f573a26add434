// Block formats against llama.cpp's own output (fixtures from data/gen_quant_fixtures.py:
// gguf-py and ggml's C reference quantizers), byte for byte and bit for bit.
#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"

using namespace sputnik;

namespace {

std::vector<uint8_t> read_file(const std::string& name) {
  const std::string path = std::string(SPUTNIK_SOURCE_DIR) + "/tests/kernels/data/" + name;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<float> read_floats(const std::string& name) {
  const auto bytes = read_file(name);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

struct Fixture {
  std::vector<float> in, deq;
  std::vector<uint8_t> bytes;
};

Fixture load(const std::string& type) {
  return {read_floats(type + ".in.f32"), read_floats(type + ".deq.f32"), read_file(type + ".bytes")};
}

// Bitwise float comparison (exactness, and -0.0 vs 0.0 matters to no one but is still checked).
void expect_same_bits(const std::vector<float>& a, const std::vector<float>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    uint32_t x, y;
    std::memcpy(&x, &a[i], 4);
    std::memcpy(&y, &b[i], 4);
    if (x != y && bad++ < 5) ADD_FAILURE() << what << " [" << i << "]: " << a[i] << " vs " << b[i];
  }
  EXPECT_EQ(bad, 0) << what;
}

const Isa kIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};

class QuantFixture : public ::testing::TestWithParam<const char*> {
 protected:
  void TearDown() override { set_isa_cap(Isa::Avx512); }
};

}  // namespace

TEST_P(QuantFixture, QuantizeAndDequantizeMatchLlamaCpp) {
  const std::string name = GetParam();
  DType t = DType::F32;
  for (int i = 0; i <= int(DType::Q8_K); ++i)
    if (dtype_name(DType(i)) == name) t = DType(i);
  ASSERT_EQ(dtype_name(t), name);
  const Fixture f = load(name);
  const int64_t n = int64_t(f.in.size());
  ASSERT_EQ(f.bytes.size(), dtype_bytes(t, n));
  for (Isa isa : kIsas) {
    if (isa > best_isa()) continue;
    set_isa_cap(isa);
    const std::string where = name + " on " + std::string(isa_name(isa));
    if (can_quantize(t)) {
      std::vector<uint8_t> q(dtype_bytes(t, n), 0xAA);
      quantize_row(t, f.in.data(), q.data(), n);
      int bad = 0;
      for (size_t i = 0; i < q.size(); ++i)
        if (q[i] != f.bytes[i] && bad++ < 5)
          ADD_FAILURE() << where << ": byte " << i << " (block " << i / dtype_info(t).block_bytes << ") is "
                        << int(q[i]) << ", llama.cpp wrote " << int(f.bytes[i]);
      EXPECT_EQ(bad, 0) << where;
    }
    std::vector<float> y(size_t(n), -1.0f);
    dequantize_row(t, f.bytes.data(), y.data(), n);
    expect_same_bits(y, f.deq, where + " dequantize");
  }
}

INSTANTIATE_TEST_SUITE_P(Types, QuantFixture,
                         ::testing::Values("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q6_K", "Q8_K", "F16",
                                           "BF16"));

TEST(Quant, RowConversionsAgreeWithScalarOnEveryPath) {
  // Odd length so the vector bodies and the scalar tails both run; specials included.
  std::vector<float> x(1003);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(float(i) * 0.7f) * std::ldexp(1.0f, int(i % 40) - 20);
  x[3] = std::nanf("");
  x[5] = INFINITY;
  x[7] = -0.0f;
  x[9] = 1e-41f;     // f32 denormal
  x[11] = 70000.0f;  // overflows f16
  x[13] = 1.0f + 1.0f / 2048;  // f16 tie
  for (Isa isa : kIsas) {
    if (isa > best_isa()) continue;
    set_isa_cap(isa);
    std::vector<uint16_t> h(x.size()), b(x.size());
    f32_to_f16_row(x.data(), h.data(), int64_t(x.size()));
    f32_to_bf16_row(x.data(), b.data(), int64_t(x.size()));
    std::vector<float> hf(x.size()), bf(x.size());
    f16_to_f32_row(h.data(), hf.data(), int64_t(x.size()));
    bf16_to_f32_row(b.data(), bf.data(), int64_t(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) {
        EXPECT_TRUE(std::isnan(hf[i]) && std::isnan(bf[i])) << i;
        continue;
      }
      EXPECT_EQ(h[i], f32_to_f16(x[i])) << isa_name(isa) << " f16 " << i << " " << x[i];
      EXPECT_EQ(b[i], f32_to_bf16(x[i])) << isa_name(isa) << " bf16 " << i << " " << x[i];
      EXPECT_EQ(hf[i], f16_to_f32(h[i])) << i;
      EXPECT_EQ(bf[i], bf16_to_f32(b[i])) << i;
    }
  }
  set_isa_cap(Isa::Avx512);
}

TEST(Quant, RejectsBadRequests) {
  std::vector<float> x(64, 1.0f);
  std::vector<uint8_t> out(1024);
  EXPECT_THROW(quantize_row(DType::Q8_0, x.data(), out.data(), 33), Error);   // not whole blocks
  EXPECT_THROW(quantize_row(DType::Q4_K, x.data(), out.data(), 64), Error);   // 256 per block
  EXPECT_THROW(quantize_row(DType::Q4_1, x.data(), out.data(), 64), Error);   // no quantizer
  EXPECT_THROW(dequantize_row(DType::I32, out.data(), x.data(), 4), Error);
  EXPECT_TRUE(can_dequantize(DType::Q5_1));
  EXPECT_FALSE(can_quantize(DType::Q5_1));
}
