#include "train/attention.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "train/grain.h"
#include "kernels/matmul.h"

namespace sputnik::train {

namespace {

void check(const AttentionShape& s) {
  if (s.Hkv <= 0 || s.Hq % s.Hkv != 0)
    fail("attention: {} query heads are not a multiple of {} kv heads", s.Hq, s.Hkv);
}

}  // namespace

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const AttentionShape& s) {
  check(s);
  const int64_t S = s.S, rep = s.Hq / s.Hkv;
  const int64_t ldq = s.Hq * s.Dk, ldk = s.Hkv * s.Dk, ldv = s.Hkv * s.Dv, ldo = s.Hq * s.Dv;
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.Hq; ++h) {
      const float* qh = q + b * S * ldq + h * s.Dk;
      const float* kh = k + b * S * ldk + (h / rep) * s.Dk;
      const float* vh = v + b * S * ldv + (h / rep) * s.Dv;
      float* p = probs + (b * s.Hq + h) * S * S;
      gemm_f32(false, true, S, S, s.Dk, s.scale, qh, ldq, kh, ldk, 0.0f, p, S);
      parallel_for(S, row_grain(S), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float* row = p + i * S;
          float mx = row[0];
          for (int64_t j = 1; j <= i; ++j) mx = std::max(mx, row[j]);
          double sum = 0;
          for (int64_t j = 0; j <= i; ++j) {
            row[j] = std::exp(row[j] - mx);
            sum += row[j];
          }
          const float inv = float(1.0 / sum);
          for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
          for (int64_t j = i + 1; j < S; ++j) row[j] = 0.0f;
        }
      });
      gemm_f32(false, false, S, s.Dv, S, 1.0f, p, S, vh, ldv, 0.0f, out + b * S * ldo + h * s.Dv, ldo);
    }
  }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, const AttentionShape& s) {
  check(s);
  const int64_t S = s.S, rep = s.Hq / s.Hkv;
  const int64_t ldq = s.Hq * s.Dk, ldk = s.Hkv * s.Dk, ldv = s.Hkv * s.Dv, ldo = s.Hq * s.Dv;
  std::vector<float> dp(size_t(S * S));
  // Heads sharing a kv head add into the same dk/dv rows, so heads run one after another and
  // each GEMM is threaded inside.
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.Hq; ++h) {
      const float* qh = q + b * S * ldq + h * s.Dk;
      const float* kh = k + b * S * ldk + (h / rep) * s.Dk;
      const float* vh = v + b * S * ldv + (h / rep) * s.Dv;
      const float* doh = dout + b * S * ldo + h * s.Dv;
      const float* p = probs + (b * s.Hq + h) * S * S;
      // dV += P^T dO ;  dP = dO V^T
      gemm_f32(true, false, S, s.Dv, S, 1.0f, p, S, doh, ldo, 1.0f, dv + b * S * ldv + (h / rep) * s.Dv, ldv);
      gemm_f32(false, true, S, S, s.Dv, 1.0f, doh, ldo, vh, ldv, 0.0f, dp.data(), S);
      // Softmax backward: dS = P ⊙ (dP − rowsum(P ⊙ dP)); zero above the diagonal since P is.
      parallel_for(S, row_grain(S), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const float* pr = p + i * S;
          float* d = dp.data() + i * S;
          double dot = 0;
          for (int64_t j = 0; j <= i; ++j) dot += double(pr[j]) * d[j];
          for (int64_t j = 0; j <= i; ++j) d[j] = pr[j] * (d[j] - float(dot));
          for (int64_t j = i + 1; j < S; ++j) d[j] = 0.0f;
        }
      });
      // dQ += scale·dS K ;  dK += scale·dS^T Q
      gemm_f32(false, false, S, s.Dk, S, s.scale, dp.data(), S, kh, ldk, 1.0f, dq + b * S * ldq + h * s.Dk, ldq);
      gemm_f32(true, false, S, s.Dk, S, s.scale, dp.data(), S, qh, ldq, 1.0f, dk + b * S * ldk + (h / rep) * s.Dk, ldk);
    }
  }
}

}  // namespace sputnik::train
