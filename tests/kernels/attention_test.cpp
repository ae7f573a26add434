// attend_causal against a double-precision reference: the single-query (decode) AVX-512 path and
// the BLAS path for several queries, at GQA and MLA head sizes (MLA: keys are [latent | rope]
// rows of 576 floats whose first 512 are the values) and sizes with vector tails.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"

using namespace sputnik;

namespace {

std::vector<double> reference(const float* q, int64_t pos, int64_t dk, const float* k, int64_t ldk, const float* v,
                              int64_t ldv, int64_t dv, float scale) {
  std::vector<double> s(size_t(pos + 1)), out(size_t(dv), 0.0);
  double mx = -INFINITY, sum = 0;
  for (int64_t j = 0; j <= pos; ++j) {
    double d = 0;
    for (int64_t i = 0; i < dk; ++i) d += double(q[i]) * k[j * ldk + i];
    s[size_t(j)] = scale * d;
    mx = std::max(mx, s[size_t(j)]);
  }
  for (auto& x : s) sum += (x = std::exp(x - mx));
  for (int64_t j = 0; j <= pos; ++j)
    for (int64_t i = 0; i < dv; ++i) out[size_t(i)] += s[size_t(j)] / sum * v[j * ldv + i];
  return out;
}

}  // namespace

TEST(Attention, MatchesDoubleReference) {
  struct Shape {
    int64_t dk, dv, ldk, ldv;  // keys and values rows of a cache, ldk/ldv floats apart
  };
  const Shape shapes[] = {{64, 64, 128, 128}, {576, 512, 576, 576}, {40, 24, 40, 24}, {16, 80, 16, 96}};
  for (const Shape& sh : shapes) {
    for (int64_t keys : {1, 17, 100}) {
      for (int64_t m : {1, 3}) {
        if (m > keys) continue;
        std::mt19937 rng(unsigned(sh.dk * 7 + keys * 3 + m));
        std::normal_distribution<float> nd(0.0f, 1.0f);
        std::vector<float> q(size_t(m * sh.dk)), k(size_t(keys * sh.ldk)), v(size_t(keys * sh.ldv));
        for (auto& x : q) x = nd(rng);
        for (auto& x : k) x = nd(rng);
        for (auto& x : v) x = nd(rng);
        const float scale = 1.0f / std::sqrt(float(sh.dk));
        const int64_t first = keys - m;
        for (Isa isa : {Isa::Scalar, Isa::Avx512}) {
          if (isa > best_isa()) continue;
          set_isa_cap(isa);
          std::vector<float> out(size_t(m * sh.dv), NAN);
          attend_causal(q.data(), sh.dk, m, first, sh.dk, k.data(), sh.ldk, v.data(), sh.ldv, sh.dv, scale, out.data(),
                        sh.dv);
          for (int64_t i = 0; i < m; ++i) {
            const auto ref = reference(q.data() + i * sh.dk, first + i, sh.dk, k.data(), sh.ldk, v.data(), sh.ldv,
                                       sh.dv, scale);
            for (int64_t d = 0; d < sh.dv; ++d)
              ASSERT_NEAR(out[size_t(i * sh.dv + d)], ref[size_t(d)], 2e-5 * (1 + std::fabs(ref[size_t(d)])))
                  << "dk=" << sh.dk << " dv=" << sh.dv << " keys=" << keys << " m=" << m << " query " << i << " dim " << d
                  << " " << isa_name(isa);
          }
        }
        set_isa_cap(Isa::Avx512);
      }
    }
  }
}

// The decode of a group of heads sharing keys and values: each head's output is bit for bit the
// single-head decode, on every ISA path, at GQA and MLA sizes and key counts around the kernel's
// blocks (16 and 64 keys).
TEST(Attention, GroupDecodeEqualsEachHeadAlone) {
  struct Shape {
    int64_t dk, dv, ldk, ldv, heads;
  };
  const Shape shapes[] = {{64, 64, 256, 256, 7}, {576, 512, 576, 576, 4}, {40, 24, 40, 24, 3}};
  for (const Shape& sh : shapes) {
    for (int64_t keys : {1, 15, 16, 17, 64, 65, 130}) {
      std::mt19937 rng(unsigned(sh.dk + keys));
      std::normal_distribution<float> nd(0.0f, 1.0f);
      const int64_t ldq = sh.dk + 5, ldo = sh.dv + 3;
      std::vector<float> q(size_t(sh.heads * ldq)), k(size_t(keys * sh.ldk)), v(size_t(keys * sh.ldv));
      for (auto& x : q) x = nd(rng);
      for (auto& x : k) x = nd(rng);
      for (auto& x : v) x = nd(rng);
      const float scale = 1.0f / std::sqrt(float(sh.dk));
      for (Isa isa : {Isa::Scalar, Isa::Avx512}) {
        if (isa > best_isa()) continue;
        set_isa_cap(isa);
        std::vector<float> group(size_t(sh.heads * ldo), NAN);
        attend_group_decode(q.data(), ldq, sh.heads, keys - 1, sh.dk, k.data(), sh.ldk, v.data(), sh.ldv, sh.dv, scale,
                            group.data(), ldo);
        for (int64_t h = 0; h < sh.heads; ++h) {
          std::vector<float> one(size_t(sh.dv), NAN);
          attend_causal(q.data() + h * ldq, sh.dk, 1, keys - 1, sh.dk, k.data(), sh.ldk, v.data(), sh.ldv, sh.dv, scale,
                        one.data(), sh.dv);
          for (int64_t d = 0; d < sh.dv; ++d)
            ASSERT_EQ(group[size_t(h * ldo + d)], one[size_t(d)])
                << "dk=" << sh.dk << " keys=" << keys << " head " << h << " dim " << d << " " << isa_name(isa);
        }
      }
      set_isa_cap(Isa::Avx512);
    }
  }
}
