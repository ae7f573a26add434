#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

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

namespace {

using Candidate = std::pair<float, int32_t>;  // (logit, id)

// The order the filters and the draw walk: higher logit first, then lower id. A strict total
// order, so every prefix of it is well defined however it was computed.
bool comes_before(const Candidate& a, const Candidate& b) {
  return a.first != b.first ? a.first > b.first : a.second < b.second;
}

// Candidates sorted only as far as someone looks: at(i) returns exactly the i-th element of a
// full sort, sorting one growing block at a time (nth_element, then sort of the block). top-p,
// min-p and the draw stop after a few dozen tokens on a trained model's logits, so the 151k-entry
// vocabulary is partitioned a few times instead of fully sorted.
class LazySorted {
 public:
  explicit LazySorted(std::vector<Candidate>& c) : c_(c) {}
  const Candidate& at(size_t i) {
    if (i >= sorted_) extend(i + 1);
    return c_[i];
  }
  bool sorted_through(size_t n) const { return n <= sorted_; }

 private:
  void extend(size_t need) {
    // Blocks grow 8x: a walk through the whole vocabulary costs about one full sort.
    size_t target = std::max({need, sorted_ * 8, size_t(64)});
    if (target * 2 > c_.size()) target = c_.size();
    const auto first = c_.begin() + ptrdiff_t(sorted_), last = c_.begin() + ptrdiff_t(target);
    if (last != c_.end()) std::nth_element(first, last - 1, c_.end(), comes_before);
    std::sort(first, last, comes_before);
    sorted_ = target;
  }

  std::vector<Candidate>& c_;
  size_t sorted_ = 0;
};

// Σ f(logit) over the non-NaN logits that come at or before `last` in the sampling order (all of
// them when null), added up in vocabulary order: the sum is the same whichever way the candidates
// were selected, so fast and full-sort samplers agree bit for bit.
template <typename F>
double sum_in_vocab_order(std::span<const float> logits, const Candidate* last, F f) {
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    if (std::isnan(l) || (last && comes_before(*last, Candidate{l, int32_t(i)}))) continue;
    sum += f(l);
  }
  return sum;
}

}  // namespace

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
  float max_logit = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < adjusted.size(); ++i) {
    if (std::isnan(adjusted[i])) continue;
    c.emplace_back(adjusted[i], int32_t(i));
    max_logit = std::max(max_logit, adjusted[i]);
  }
  if (c.empty()) fail("all logits are NaN");

  // top-k: the k best, in no particular order yet; `last` marks the set's end in sampling order.
  std::optional<Candidate> last;
  if (params_.top_k > 0 && size_t(params_.top_k) < c.size()) {
    const auto kth = c.begin() + (params_.top_k - 1);
    std::nth_element(c.begin(), kth, c.end(), comes_before);
    last = *kth;
    c.resize(size_t(params_.top_k));
  }

  // Softmax at temperature 1 for the probability filters, as llama.cpp does.
  const bool use_top_p = params_.top_p < 1.0f, use_min_p = params_.min_p > 0;
  double sum = 0;
  if (use_top_p || use_min_p)
    sum = sum_in_vocab_order(adjusted, last ? &*last : nullptr,
                             [&](float l) { return std::exp(double(l - max_logit)); });
  auto prob = [&](const Candidate& x) { return std::exp(double(x.first - max_logit)) / sum; };

  // min-p keeps only tokens with p >= min_p * p_max, i.e. logit - max >= log(min_p): drop what
  // is clearly below that before sorting anything (the exact test below decides the rest).
  if (use_min_p) {
    const double bound = std::log(double(params_.min_p)) - 1e-6;
    std::erase_if(c, [&](const Candidate& x) { return double(x.first - max_logit) < bound; });
  }

  LazySorted sorted(c);
  size_t n = c.size();  // the kept tokens are always the first n in sampling order
  // top-p: smallest prefix whose mass reaches top_p.
  if (use_top_p) {
    double cum = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      cum += prob(sorted.at(i));
      if (cum >= params_.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  // min-p: drop tokens less likely than min_p times the most likely one.
  if (use_min_p) {
    const double floor = prob(sorted.at(0)) * params_.min_p;
    size_t k = 1;
    while (k < n && prob(sorted.at(k)) >= floor) ++k;
    n = k;
  }
  if (n < c.size() || sorted.sorted_through(n)) last = sorted.at(n - 1);

  // Temperature, then draw.
  auto weight = [&](float l) { return std::exp(double(l - max_logit) / params_.temperature); };
  const double total = sum_in_vocab_order(adjusted, last ? &*last : nullptr, weight);
  const double u = double(rng_() >> 11) * 0x1.0p-53 * total;
  double acc = 0;
  for (size_t i = 0; i < n; ++i) {
    const Candidate& x = sorted.at(i);
    acc += weight(x.first);
    if (u < acc) return x.second;
  }
  return sorted.at(n - 1).second;
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
