#pragma once
// Counters for GET /metrics (Prometheus text exposition format 0.0.4).
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "server/scheduler.h"

namespace sputnik::server {

class Metrics {
 public:
  void count_request(const std::string& endpoint, int status);
  void add_tokens(int64_t prompt, int64_t completion, int64_t reasoning);
  void inc_inflight(int d) { inflight_ += d; }
  std::string render(const SchedulerStats& s) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;
  std::atomic<int64_t> prompt_tokens_{0}, completion_tokens_{0}, reasoning_tokens_{0};
  std::atomic<int64_t> inflight_{0};
};

}  // namespace sputnik::server
