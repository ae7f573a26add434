// AVX-512 versions of the exp-heavy elementwise loops of a training step (cross-entropy over the
// vocabulary, SwiGLU): the portable builds of cross_entropy.cpp and swiglu.cpp vectorize them
// only 4 wide. Same formulas; exp is fast_exp's algorithm (kernels/fast_exp.h) 16 lanes at a
// time, written here with intrinsics so that no inline function is compiled twice with
// different ISA flags. Results may differ from the portable loops in the last bits (FMA).
#include <immintrin.h>

#include <math.h>

#include <cstdint>

#include "train/elementwise.h"

namespace sputnik::train::detail {
namespace {

// e^x, clamped to [-87, 88] like fast_exp: Cody-Waite reduction and Cephes' polynomial.
inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

inline __mmask16 first(int64_t n) { return n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1); }

}  // namespace

float logsumexp_avx512(const float* l, int64_t n) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = first(n - i);
    mx = _mm512_mask_max_ps(mx, k, mx, _mm512_maskz_loadu_ps(k, l + i));
  }
  const float m = _mm512_reduce_max_ps(mx);
  const __m512 vm = _mm512_set1_ps(m);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 k = first(n - i);
    sum = _mm512_mask_add_ps(sum, k, sum, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, l + i), vm)));
  }
  // C's logf, not the inline std::log: an inline function compiled here with AVX-512 flags could
  // be the copy the linker keeps for the portable callers too.
  return m + logf(_mm512_reduce_add_ps(sum));
}

void scaled_softmax_avx512(float* out, const float* l, int64_t n, float lse, float k, bool add) {
  const __m512 vm = _mm512_set1_ps(lse), vk = _mm512_set1_ps(k);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 mk = first(n - i);
    __m512 v = _mm512_mul_ps(vk, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, l + i), vm)));
    if (add) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, out + i));
    _mm512_mask_storeu_ps(out + i, mk, v);
  }
}

void swiglu_forward_avx512(float* h, const float* gate, const float* up, int64_t lo, int64_t hi) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = lo; i < hi; i += 16) {
    const __mmask16 mk = first(hi - i);
    const __m512 g = _mm512_maskz_loadu_ps(mk, gate + i);
    const __m512 sig = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(h + i, mk, _mm512_mul_ps(_mm512_mul_ps(g, sig), _mm512_maskz_loadu_ps(mk, up + i)));
  }
}

void swiglu_backward_avx512(float* dgate, float* dup, const float* dh, const float* gate, const float* up, int64_t lo,
                            int64_t hi) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = lo; i < hi; i += 16) {
    const __mmask16 mk = first(hi - i);
    const __m512 g = _mm512_maskz_loadu_ps(mk, gate + i), d = _mm512_maskz_loadu_ps(mk, dh + i);
    const __m512 u = _mm512_maskz_loadu_ps(mk, up + i);
    const __m512 sig = _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    const __m512 silu = _mm512_mul_ps(g, sig);
    _mm512_mask_storeu_ps(dup + i, mk, _mm512_fmadd_ps(d, silu, _mm512_maskz_loadu_ps(mk, dup + i)));
    // dh·up·σ·(1 + g·(1 − σ))
    const __m512 t = _mm512_fmadd_ps(g, _mm512_sub_ps(one, sig), one);
    const __m512 dg = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(d, u), sig), t);
    _mm512_mask_storeu_ps(dgate + i, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, dgate + i), dg));
  }
}

}  // namespace sputnik::train::detail
