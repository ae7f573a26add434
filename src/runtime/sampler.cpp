#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace sputnik {

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  if (!(params.top_p > 0)) fail("top_p must be > 0 (got {})", params.top_p);
  if (params.min_p < 0 || params.min_p > 1) fail("min_p must be in [0, 1] (got {})", params.min_p);
  if (!(params.repetition_penalty > 0))
    fail("repetition_penalty must be > 0 (got {})", params.repetition_penalty);
  if (!std::isfinite(params.temperature)) fail("temperature must be finite");
}

void apply_penalties(std::span<float> logits, std::span<const int32_t> history,
                     const SamplingParams& p) {
  if (p.repetition_penalty == 1.0f && p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f)
    return;
  size_t first = 0;
  if (p.penalty_last_n >= 0 && history.size() > size_t(p.penalty_last_n))
    first = history.size() - size_t(p.penalty_last_n);
  std::unordered_map<int32_t, int> counts;
  for (size_t i = first; i < history.size(); ++i) {
    const int32_t id = history[i];
    if (id >= 0 && size_t(id) < logits.size()) ++counts[id];
  }
  for (const auto& [id, count] : counts) {
    float& l = logits[size_t(id)];
    if (p.repetition_penalty != 1.0f) l = l > 0 ? l / p.repetition_penalty : l * p.repetition_penalty;
    l -= float(count) * p.frequency_penalty + p.presence_penalty;
  }
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  if (logits.empty()) fail("cannot sample from an empty vocabulary");
  std::vector<float> adjusted(logits.begin(), logits.end());
  apply_penalties(adjusted, history, params_);

  if (params_.temperature <= 0) {  // greedy: first maximum, like argmax
    return int32_t(std::max_element(adjusted.begin(), adjusted.end()) - adjusted.begin());
  }

  auto& c = candidates_;
  c.clear();
  c.reserve(adjusted.size());
  for (size_t i = 0; i < adjusted.size(); ++i)
    if (!std::isnan(adjusted[i])) c.emplace_back(adjusted[i], int32_t(i));
  if (c.empty()) fail("all logits are NaN");
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };

  // top-k (also bounds the sort below).
  size_t keep = c.size();
  if (params_.top_k > 0) keep = std::min(keep, size_t(params_.top_k));
  std::partial_sort(c.begin(), c.begin() + ptrdiff_t(keep), c.end(), by_logit);
  c.resize(keep);

  // Softmax at temperature 1 for the probability filters, as llama.cpp does.
  const float max_logit = c.front().first;
  std::vector<double> probs(c.size());
  double sum = 0;
  for (size_t i = 0; i < c.size(); ++i) sum += probs[i] = std::exp(double(c[i].first - max_logit));
  for (double& pr : probs) pr /= sum;

  // top-p: smallest prefix whose mass reaches top_p.
  if (params_.top_p < 1.0f) {
    double cum = 0;
    size_t n = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += probs[i];
      if (cum >= params_.top_p) {
        n = i + 1;
        break;
      }
    }
    c.resize(n);
    probs.resize(n);
  }
  // min-p: drop tokens less likely than min_p times the most likely one.
  if (params_.min_p > 0) {
    const double floor = probs[0] * params_.min_p;
    size_t n = 1;
    while (n < c.size() && probs[n] >= floor) ++n;
    c.resize(n);
  }

  // Temperature, then draw.
  std::vector<double> weights(c.size());
  double total = 0;
  for (size_t i = 0; i < c.size(); ++i)
    total += weights[i] = std::exp(double(c[i].first - max_logit) / params_.temperature);
  const double u = double(rng_() >> 11) * 0x1.0p-53 * total;
  double acc = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    acc += weights[i];
    if (u < acc) return c[i].second;
  }
  return c.back().second;
}

float token_logprob(std::span<const float> logits, int32_t id) {
  if (id < 0 || size_t(id) >= logits.size()) fail("token id {} out of range", id);
  const float m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l - m));
  return float(double(logits[size_t(id)] - m) - std::log(sum));
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int k) {
  const float m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l - m));
  const double log_z = std::log(sum) + m;
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(i);
  const size_t n = std::min(ids.size(), size_t(std::max(k, 0)));
  std::partial_sort(ids.begin(), ids.begin() + ptrdiff_t(n), ids.end(), [&](int32_t a, int32_t b) {
    return logits[size_t(a)] != logits[size_t(b)] ? logits[size_t(a)] > logits[size_t(b)] : a < b;
  });
  std::vector<TokenLogprob> out;
  for (size_t i = 0; i < n; ++i) out.push_back({ids[i], float(logits[size_t(ids[i])] - log_z)});
  return out;
}

}  // namespace sputnik
