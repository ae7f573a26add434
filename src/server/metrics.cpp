#include "server/metrics.h"

#include <fmt/format.h>

namespace sputnik::server {

void Metrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void Metrics::add_tokens(int64_t prompt, int64_t completion, int64_t reasoning) {
  prompt_tokens_ += prompt;
  completion_tokens_ += completion;
  reasoning_tokens_ += reasoning;
}

std::string Metrics::render(const SchedulerStats& s) const {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  metric("sputnik_requests_total", "counter", "HTTP requests by endpoint and status.");
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, n] : requests_)
      out += fmt::format("sputnik_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first,
                         key.second, n);
  }
  metric("sputnik_prompt_tokens_total", "counter", "Prompt tokens of finished requests.");
  out += fmt::format("sputnik_prompt_tokens_total {}\n", prompt_tokens_.load());
  metric("sputnik_completion_tokens_total", "counter", "Generated tokens of finished requests.");
  out += fmt::format("sputnik_completion_tokens_total {}\n", completion_tokens_.load());
  metric("sputnik_reasoning_tokens_total", "counter", "Generated thinking tokens.");
  out += fmt::format("sputnik_reasoning_tokens_total {}\n", reasoning_tokens_.load());
  metric("sputnik_prompt_tokens_cached_total", "counter", "Prompt tokens reused from the prefix cache.");
  out += fmt::format("sputnik_prompt_tokens_cached_total {}\n", s.cached_prompt_tokens);
  metric("sputnik_prompt_tokens_computed_total", "counter",
         "Prompt tokens run through the model (neither cached nor shared between choices).");
  out += fmt::format("sputnik_prompt_tokens_computed_total {}\n", s.computed_prompt_tokens);
  metric("sputnik_generated_tokens_total", "counter", "Tokens produced by the scheduler.");
  out += fmt::format("sputnik_generated_tokens_total {}\n", s.generated_tokens);
  metric("sputnik_steps_total", "counter", "Batched forward steps.");
  out += fmt::format("sputnik_steps_total {}\n", s.steps);
  metric("sputnik_queue_depth", "gauge", "Sequences waiting for a slot.");
  out += fmt::format("sputnik_queue_depth {}\n", s.queued);
  metric("sputnik_active_sequences", "gauge", "Sequences holding a slot.");
  out += fmt::format("sputnik_active_sequences {}\n", s.active);
  metric("sputnik_slots", "gauge", "KV-cache slots (--parallel).");
  out += fmt::format("sputnik_slots {}\n", s.slots);
  metric("sputnik_requests_in_flight", "gauge", "Generation requests being answered.");
  out += fmt::format("sputnik_requests_in_flight {}\n", inflight_.load());
  metric("sputnik_max_batch", "gauge", "Most sequences decoded in one step so far.");
  out += fmt::format("sputnik_max_batch {}\n", s.max_batch);
  metric("sputnik_tokens_per_second", "gauge", "Generated tokens per second over the last 5 s.");
  out += fmt::format("sputnik_tokens_per_second {:.3f}\n", s.decode_tokens_per_second);
  return out;
}

}  // namespace sputnik::server
