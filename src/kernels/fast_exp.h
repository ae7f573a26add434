#pragma once
// exp(x) in plain float arithmetic that the compiler vectorizes (libm's expf is a call per
// element, and a prefill or training step evaluates tens of millions: softmax, SwiGLU,
// cross-entropy).
// Cody-Waite range reduction x = n·ln2 + r and Cephes' degree-6 polynomial for e^r: within
// 2 ulp of expf on [-87, 88]; inputs are clamped there (e^-87 ≈ 1.6e-38 stands in for smaller
// values, which is below any value these ops can resolve next to the terms they are added to).
#include <bit>
#include <cstdint>

namespace sputnik {

namespace fast_exp_detail {
// Float comparisons may trap (the default -ftrapping-math), which keeps GCC from turning a
// clamp into vector min/max; integer ones do not. This key orders like the floats it encodes.
inline int32_t order_key(float x) {
  const int32_t b = std::bit_cast<int32_t>(x);
  return b ^ ((b >> 31) & 0x7fffffff);
}
inline float from_order_key(int32_t k) { return std::bit_cast<float>(k ^ ((k >> 31) & 0x7fffffff)); }
}  // namespace fast_exp_detail

[[gnu::always_inline]] inline float fast_exp(float x) {
  const int32_t lo = fast_exp_detail::order_key(-87.0f), hi = fast_exp_detail::order_key(88.0f);
  int32_t k = fast_exp_detail::order_key(x);
  k = k < lo ? lo : k;
  k = k > hi ? hi : k;
  x = fast_exp_detail::from_order_key(k);
  constexpr float kRound = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = (int32_t(n) + 127) << 23;
  return p * std::bit_cast<float>(e);
}

}  // namespace sputnik
