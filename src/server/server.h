#pragma once
// The OpenAI-compatible HTTP front end (cpp-httplib): routes, API-key check, JSON errors, SSE
// streaming, the chat page. Generation goes through the Scheduler; this layer only turns
// requests into sequences and sequence events into OpenAI (and DeepSeek-reasoner) JSON.
#include <memory>
#include <string>

#include "server/metrics.h"
#include "server/prompt.h"
#include "server/request.h"
#include "server/scheduler.h"

namespace sputnik::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: pick a free port (see Server::port())
  std::string api_key;  // empty: no authentication
  std::string model_name = "sputnik";
  size_t body_limit = 8 << 20;
  int http_threads = 64;  // each streaming request holds one while it streams
  RequestLimits limits;
};

class Server {
 public:
  Server(Scheduler& scheduler, const PromptBuilder& prompts, ServerOptions options);
  ~Server();

  // Binds the socket (throws Error when it cannot); then listen() serves until stop().
  void bind();
  int port() const { return port_; }
  void listen();
  void stop();  // safe from any thread (e.g. a signal-watching one)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// Constant-time check of "Authorization: Bearer <key>" (length-independent: both sides are
// hashed first).
bool api_key_matches(const std::string& authorization_header, const std::string& key);

}  // namespace sputnik::server
