#include "train/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/threads.h"
#include "train/fast_exp.h"
#include "train/precision.h"

namespace sputnik::train {

namespace {

void check(const AttentionShape& s) {
  if (s.Hkv <= 0 || s.Hq % s.Hkv != 0)
    fail("attention: {} query heads are not a multiple of {} kv heads", s.Hq, s.Hkv);
}

// Work unit: one (batch row, kv head) pair with the rep query heads that read it. Units never
// share output rows (dk/dv rows of a kv head belong to one unit), so they run in parallel with
// single-threaded GEMMs inside, which for S of a few hundred beats threading each small GEMM.
template <typename Fn>
void for_each_unit(const AttentionShape& s, Fn&& fn) {
  const bool bf = bf16_compute();  // thread-local: carry it into the workers
  parallel_for(s.B * s.Hkv, 1, [&](int64_t lo, int64_t hi) {
    BF16Scope scope(bf);
    // Kept per thread: a fresh S×S buffer per call would be mmap'd and page-faulted every time.
    static thread_local std::vector<float> scratch;
    scratch.resize(size_t(s.S * s.S));
    for (int64_t u = lo; u < hi; ++u) fn(u / s.Hkv, u % s.Hkv, scratch.data());
  });
}

// Causal block size: row block [i0, i1) reads keys [0, i1) only, so the products skip the
// all-zero blocks above the diagonal (10 of 16 blocks computed for S = 256).
constexpr int64_t kBlock = 64;

}  // namespace

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const AttentionShape& s) {
  check(s);
  const int64_t S = s.S, rep = s.Hq / s.Hkv;
  const int64_t ldq = s.Hq * s.Dk, ldk = s.Hkv * s.Dk, ldv = s.Hkv * s.Dv, ldo = s.Hq * s.Dv;
  for_each_unit(s, [&](int64_t b, int64_t g, float*) {
    const float* kh = k + b * S * ldk + g * s.Dk;
    const float* vh = v + b * S * ldv + g * s.Dv;
    const GemmB kt(true, s.Dk, S, kh, ldk), vb(false, S, s.Dv, vh, ldv);  // Kᵀ, V: once for all blocks and heads
    for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
      const float* qh = q + b * S * ldq + h * s.Dk;
      float* p = probs + (b * s.Hq + h) * S * S;
      for (int64_t i0 = 0; i0 < S; i0 += kBlock) {
        const int64_t i1 = std::min(S, i0 + kBlock);
        kt.multiply(false, i1 - i0, i1, 0, s.Dk, s.scale, qh + i0 * ldq, ldq, 0.0f, p + i0 * S, S);
      }
      for (int64_t i = 0; i < S; ++i) {
        float* row = p + i * S;
        float mx = row[0];
        for (int64_t j = 1; j <= i; ++j) mx = std::max(mx, row[j]);
        float sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int64_t j = 0; j <= i; ++j) {
          row[j] = fast_exp(row[j] - mx);
          sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j <= i; ++j) row[j] *= inv;
        for (int64_t j = i + 1; j < S; ++j) row[j] = 0.0f;
      }
      float* oh = out + b * S * ldo + h * s.Dv;
      for (int64_t i0 = 0; i0 < S; i0 += kBlock) {
        const int64_t i1 = std::min(S, i0 + kBlock);
        vb.multiply(false, i1 - i0, s.Dv, 0, i1, 1.0f, p + i0 * S, S, 0.0f, oh + i0 * ldo, ldo);
      }
    }
  });
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                        const float* k, const float* v, const float* probs, const AttentionShape& s) {
  check(s);
  const int64_t S = s.S, rep = s.Hq / s.Hkv;
  const int64_t ldq = s.Hq * s.Dk, ldk = s.Hkv * s.Dk, ldv = s.Hkv * s.Dv, ldo = s.Hq * s.Dv;
  for_each_unit(s, [&](int64_t b, int64_t g, float* dp) {
    const float* kh = k + b * S * ldk + g * s.Dk;
    const float* vh = v + b * S * ldv + g * s.Dv;
    float* dkh = dk + b * S * ldk + g * s.Dk;
    float* dvh = dv + b * S * ldv + g * s.Dv;
    const GemmB vt(true, s.Dv, S, vh, ldv), kb(false, S, s.Dk, kh, ldk);  // Vᵀ, K
    for (int64_t h = g * rep; h < (g + 1) * rep; ++h) {
      const float* qh = q + b * S * ldq + h * s.Dk;
      const float* doh = dout + b * S * ldo + h * s.Dv;
      const float* p = probs + (b * s.Hq + h) * S * S;
      const GemmB dob(false, S, s.Dv, doh, ldo), qb(false, S, s.Dk, qh, ldq);  // dO, Q
      // dV += P^T dO (key block [j0, j1) gets rows i >= j0) ;  dP = dO V^T (row block reads keys < i1)
      for (int64_t j0 = 0; j0 < S; j0 += kBlock) {
        const int64_t j1 = std::min(S, j0 + kBlock);
        dob.multiply(true, j1 - j0, s.Dv, j0, S - j0, 1.0f, p + j0 * S + j0, S, 1.0f, dvh + j0 * ldv, ldv);
        vt.multiply(false, j1 - j0, j1, 0, s.Dv, 1.0f, doh + j0 * ldo, ldo, 0.0f, dp + j0 * S, S);
      }
      // Softmax backward: dS = P ⊙ (dP − rowsum(P ⊙ dP)); zero above the diagonal since P is.
      for (int64_t i = 0; i < S; ++i) {
        const float* pr = p + i * S;
        float* d = dp + i * S;
        float dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t j = 0; j <= i; ++j) dot += pr[j] * d[j];
        for (int64_t j = 0; j <= i; ++j) d[j] = pr[j] * (d[j] - dot);
        for (int64_t j = i + 1; j < S; ++j) d[j] = 0.0f;
      }
      // dQ += scale·dS K ;  dK += scale·dS^T Q
      float* dqh = dq + b * S * ldq + h * s.Dk;
      for (int64_t i0 = 0; i0 < S; i0 += kBlock) {
        const int64_t i1 = std::min(S, i0 + kBlock);
        kb.multiply(false, i1 - i0, s.Dk, 0, i1, s.scale, dp + i0 * S, S, 1.0f, dqh + i0 * ldq, ldq);
        qb.multiply(true, i1 - i0, s.Dk, i0, S - i0, s.scale, dp + i0 * S + i0, S, 1.0f, dkh + i0 * ldk, ldk);
      }
    }
  });
}

}  // namespace sputnik::train
