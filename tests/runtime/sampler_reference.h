#pragma once
// The straightforward sampler the fast one must match: sort the whole vocabulary, then top-k,
// top-p, min-p, temperature and the draw over the sorted list (the algorithm sputnik's sampler
// used before it stopped sorting everything). Used by tests/runtime/sampler_test.cpp and
// bench/sampler_bench.cpp (as the baseline).
//
// `vocab_order_sums` picks how the two normalising sums are added up: in vocabulary order (what
// the fast sampler does, so results must be identical bit for bit) or in sorted order (the old
// code verbatim, which can differ only when a cumulative probability lands within rounding of a
// threshold).
#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "runtime/sampler.h"

namespace sputnik::test {

class FullSortSampler {
 public:
  FullSortSampler(const SamplingParams& p, bool vocab_order_sums) : p_(p), rng_(p.seed), vocab_order_(vocab_order_sums) {}

  int32_t sample(std::span<const float> logits, std::span<const int32_t> history) {
    std::vector<float> adjusted(logits.begin(), logits.end());
    apply_penalties(adjusted, history, p_);
    if (p_.temperature <= 0) return int32_t(std::max_element(adjusted.begin(), adjusted.end()) - adjusted.begin());

    std::vector<std::pair<float, int32_t>> c;
    for (size_t i = 0; i < adjusted.size(); ++i)
      if (!std::isnan(adjusted[i])) c.emplace_back(adjusted[i], int32_t(i));
    std::sort(c.begin(), c.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (p_.top_k > 0 && size_t(p_.top_k) < c.size()) c.resize(size_t(p_.top_k));
    const float max_logit = c.front().first;

    // Sum of f over the kept candidates c[0..n), in the chosen order.
    auto total = [&](size_t n, auto f) {
      double s = 0;
      if (!vocab_order_) {
        for (size_t i = 0; i < n; ++i) s += f(c[i].first);
        return s;
      }
      std::vector<char> kept(adjusted.size(), 0);
      for (size_t i = 0; i < n; ++i) kept[size_t(c[i].second)] = 1;
      for (size_t id = 0; id < adjusted.size(); ++id)
        if (kept[id]) s += f(adjusted[id]);
      return s;
    };

    const double sum = total(c.size(), [&](float l) { return std::exp(double(l - max_logit)); });
    std::vector<double> probs(c.size());
    for (size_t i = 0; i < c.size(); ++i) probs[i] = std::exp(double(c[i].first - max_logit)) / sum;
    size_t n = c.size();
    if (p_.top_p < 1.0f) {
      double cum = 0;
      for (size_t i = 0; i < c.size(); ++i) {
        cum += probs[i];
        if (cum >= p_.top_p) {
          n = i + 1;
          break;
        }
      }
    }
    if (p_.min_p > 0) {
      const double floor = probs[0] * p_.min_p;
      size_t k = 1;
      while (k < n && probs[k] >= floor) ++k;
      n = k;
    }
    auto weight = [&](float l) { return std::exp(double(l - max_logit) / p_.temperature); };
    const double u = double(rng_() >> 11) * 0x1.0p-53 * total(n, weight);
    double acc = 0;
    for (size_t i = 0; i < n; ++i) {
      acc += weight(c[i].first);
      if (u < acc) return c[i].second;
    }
    return c[n - 1].second;
  }

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  bool vocab_order_;
};

}  // namespace sputnik::test
