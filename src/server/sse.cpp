#include "server/sse.h"

namespace sputnik::server {

std::string sse_data(const nlohmann::json& chunk) {
  // replace: invalid UTF-8 from a model must not throw mid-stream; it becomes U+FFFD.
  return "data: " + chunk.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

std::string sse_done() { return "data: [DONE]\n\n"; }

}  // namespace sputnik::server
