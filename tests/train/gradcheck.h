#pragma once
// Finite-difference gradient checks for the training ops (header shared by tests/train/*_test.cpp).
// Each test defines a scalar loss L = Σ out ⊙ r (r random, fixed) so that every output element
// carries gradient, runs the op's backward with dout = r, and compares the analytic gradient with
// central differences (L(p+ε) − L(p−ε)) / 2ε at sampled coordinates. The loss is summed in double;
// the ops run in f32, so tolerances allow f32 rounding of the outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/threads.h"

namespace sputnik::train::testing {

// The finite-difference loops run thousands of tiny forwards; on the shared 2-core machine each
// OpenMP region would cost more than the op (spinning workers fight for the cores), so these
// tests run on one thread. The threaded paths are covered by the PyTorch comparisons
// (train.torch_ops, train.torch_model), which run the same ops on the default thread count.
inline const bool kSingleThreaded = (set_num_threads(1), true);

inline std::vector<float> randn(size_t n, std::mt19937& rng, float sd = 1.0f, float mean = 0.0f) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

struct GradCheck {
  int samples = 24;
  float eps = 1e-2f;
  double rtol = 2e-2, atol = 2e-3;
  double norm_rtol = 5e-3;  // ‖num − ana‖ / ‖ana‖ over the samples
};

// `loss` recomputes the forward from the current contents of `param`.
inline void expect_grad(const std::string& name, float* param, const float* grad, size_t n,
                        const std::function<double()>& loss, std::mt19937& rng, GradCheck opt = {}) {
  ASSERT_GT(n, 0u) << name;
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  const int samples = int(std::min<size_t>(n, size_t(opt.samples)));
  double err2 = 0, ref2 = 0;
  for (int s = 0; s < samples; ++s) {
    const size_t i = samples == int(n) ? size_t(s) : pick(rng);
    const float keep = param[i];
    param[i] = keep + opt.eps;
    const double up = loss();
    param[i] = keep - opt.eps;
    const double down = loss();
    param[i] = keep;
    const double num = (up - down) / (double(keep + opt.eps) - double(keep - opt.eps));
    const double ana = grad[i];
    EXPECT_NEAR(ana, num, opt.atol + opt.rtol * std::max(std::abs(num), std::abs(ana)))
        << name << "[" << i << "]";
    err2 += (num - ana) * (num - ana);
    ref2 += ana * ana;
  }
  // A gradient that is all zeros where the loss clearly moves would pass a loose per-element
  // test only if the numbers were tiny; the norm check keeps that honest.
  EXPECT_GT(ref2, 0.0) << name << ": analytic gradient is zero at every sampled coordinate";
  EXPECT_LE(std::sqrt(err2), opt.norm_rtol * std::sqrt(ref2) + opt.atol) << name;
}

}  // namespace sputnik::train::testing
