// cpp-httplib must see the same configuration Debian's libcpp-httplib.so was built with
// (pkg-config cpp-httplib --cflags), or the Request/Response layouts differ.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#include "server/server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <chrono>
#include <ctime>
#include <deque>
#include <random>

#include "server/api_error.h"
#include "server/choice_stream.h"
#include "server/sse.h"
#include "server/web_assets.h"

namespace sputnik::server {

using nlohmann::json;

bool api_key_matches(const std::string& header, const std::string& key) {
  const std::string prefix = "Bearer ";
  const std::string given = header.rfind(prefix, 0) == 0 ? header.substr(prefix.size()) : "";
  unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
  unsigned int na = 0, nb = 0;
  EVP_Digest(given.data(), given.size(), a, &na, EVP_sha256(), nullptr);
  EVP_Digest(key.data(), key.size(), b, &nb, EVP_sha256(), nullptr);
  return !given.empty() && na == nb && CRYPTO_memcmp(a, b, na) == 0;
}

namespace {

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& type = "invalid_request_error", const std::string& code = "") {
  send_json(res, status, error_body(message, type, code));
}

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}", prefix, rng());
}

// Everything one HTTP request's sequences share; owned jointly by the HTTP thread and the
// scheduler callbacks, so whichever finishes last frees it.
struct RequestState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Delta> events;
  int open = 0;  // choices not ended yet
  std::vector<std::unique_ptr<ChoiceStream>> choices;  // used on the scheduler thread only
  std::vector<std::shared_ptr<SequenceHandle>> handles;

  void push(Delta d, bool last) {
    {
      std::lock_guard lock(mu);
      events.push_back(std::move(d));
      if (last) --open;
    }
    cv.notify_all();
  }
  void cancel() {
    std::lock_guard lock(mu);
    for (auto& h : handles) h->cancel();
  }
  // Waits up to `timeout` for events; returns them and whether every choice has ended.
  std::deque<Delta> take(std::chrono::milliseconds timeout, bool& all_done) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, timeout, [&] { return !events.empty() || open == 0; });
    std::deque<Delta> out;
    out.swap(events);
    all_done = open == 0;
    return out;
  }
};

// Per-choice totals for the final (non-streamed) answer and for usage.
struct ChoiceTotals {
  std::string reasoning, content, finish_reason, error;
  json logprobs = json::array();
  bool ended = false;
};

struct Usage {
  int64_t prompt = 0, cached = 0, completion = 0, reasoning = 0;
  json to_json() const {
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", prompt + completion},
            {"prompt_tokens_details", {{"cached_tokens", cached}}},
            {"completion_tokens_details", {{"reasoning_tokens", reasoning}}}};
  }
};

// Legacy /v1/completions logprobs from the chat-style entries.
json legacy_logprobs(const json& entries, size_t text_offset) {
  json out = {{"tokens", json::array()},
              {"token_logprobs", json::array()},
              {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  for (const auto& e : entries) {
    out["tokens"].push_back(e["token"]);
    out["token_logprobs"].push_back(e["logprob"]);
    json top = json::object();
    for (const auto& t : e["top_logprobs"]) top[t["token"].get<std::string>()] = t["logprob"];
    out["top_logprobs"].push_back(top);
    out["text_offset"].push_back(text_offset);
    text_offset += e["token"].get<std::string>().size();
  }
  return out;
}

}  // namespace

struct Server::Impl {
  Scheduler& scheduler;
  const PromptBuilder& prompts;
  ServerOptions opt;
  Metrics metrics;
  httplib::Server http;

  Impl(Scheduler& s, const PromptBuilder& p, ServerOptions o)
      : scheduler(s), prompts(p), opt(std::move(o)) {}

  void routes();
  void generation(const httplib::Request& req, httplib::Response& res, bool chat);

  // Runs a handler; turns exceptions into OpenAI-shaped errors and counts the request.
  template <typename Fn>
  void guarded(const char* endpoint, httplib::Response& res, Fn&& fn) {
    try {
      fn();
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.what(), e.type(), e.code());
    } catch (const json::exception& e) {
      send_error(res, 400, fmt::format("invalid request: {}", e.what()));
    } catch (const Error& e) {
      send_error(res, 400, e.what());
    } catch (const std::exception& e) {
      send_error(res, 500, fmt::format("internal error: {}", e.what()), "server_error");
    }
    metrics.count_request(endpoint, res.status < 0 ? 200 : res.status);
  }
};

void Server::Impl::generation(const httplib::Request& req, httplib::Response& res, bool chat) {
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) bad_request("the request body is not valid JSON");
  const GenerationRequest r =
      chat ? parse_chat_request(body, opt.limits) : parse_completion_request(body, opt.limits);
  Prompt prompt = chat ? prompts.chat(r.messages) : prompts.completion(r.prompt);
  const int64_t ctx = opt.limits.ctx;
  if (prompt.ids.empty()) bad_request("the prompt is empty after tokenization");
  std::optional<int64_t> budget = r.max_reasoning_tokens;
  const auto& close = prompts.close_thinking_ids();
  if (chat && budget && *budget == 0 && prompt.style == ReasoningStyle::PromptOpened && !close.empty()) {
    // No thinking at all: close it in the prompt itself.
    prompt.ids.insert(prompt.ids.end(), close.begin(), close.end());
    prompt.style = ReasoningStyle::None;
  }
  const auto n_prompt = int64_t(prompt.ids.size());
  if (n_prompt >= ctx)
    throw ApiError(400, fmt::format("the prompt has {} tokens; this server's context holds {} "
                                    "(including the answer)", n_prompt, ctx),
                   "invalid_request_error", "context_length_exceeded");
  const int64_t max_tokens = r.max_tokens.value_or(ctx - n_prompt);
  if (n_prompt + max_tokens > ctx)
    throw ApiError(400, fmt::format("the context holds {} tokens, but {} were requested ({} in the "
                                    "prompt, {} for the answer); reduce max_tokens or the prompt",
                                    ctx, n_prompt + max_tokens, n_prompt, max_tokens),
                   "invalid_request_error", "context_length_exceeded");

  auto st = std::make_shared<RequestState>();
  st->open = r.n;
  for (int i = 0; i < r.n; ++i) {
    ChoiceOptions co;
    co.split_reasoning = chat;
    co.style = chat ? prompt.style : ReasoningStyle::None;
    co.stop = r.stop;
    co.reasoning_budget = budget;
    co.close_thinking = close;
    co.logprobs = r.logprobs;
    st->choices.push_back(
        std::make_unique<ChoiceStream>(i, make_token_text(prompts.tokenizer()), std::move(co)));
  }
  std::random_device rd;
  for (int i = 0; i < r.n; ++i) {
    SequenceSpec spec;
    spec.prompt = prompt.ids;
    spec.sampling = r.sampling;
    spec.sampling.seed = r.seeded ? r.sampling.seed + uint64_t(i) : (uint64_t(rd()) << 32 | rd());
    spec.max_tokens = max_tokens;
    spec.logprobs = r.logprobs;
    spec.top_logprobs = r.top_logprobs;
    spec.stop_ids = prompts.stop_ids();
    ChoiceStream* cs = st->choices[size_t(i)].get();
    RequestState* raw = st.get();
    spec.on_token = [cs, raw](const TokenEvent& ev) {
      Delta d;
      TokenReply reply = cs->on_token(ev, d);
      if (!d.empty()) raw->push(std::move(d), false);
      return reply;
    };
    // The end callback holds the state alive until the scheduler is done with it.
    spec.on_end = [cs, st](const SequenceEnd& end) {
      Delta d;
      cs->on_end(end, d);
      st->push(std::move(d), true);
    };
    try {
      auto h = scheduler.submit(std::move(spec));
      std::lock_guard lock(st->mu);
      st->handles.push_back(std::move(h));
    } catch (const Error& e) {
      st->cancel();
      // Choices never submitted will never end: the request is over.
      throw ApiError(i == 0 ? 400 : 503, e.what(), i == 0 ? "invalid_request_error" : "server_error");
    }
  }
  metrics.inc_inflight(1);

  struct Ctx {
    std::shared_ptr<RequestState> st;
    bool chat, stream, include_usage;
    std::string id, model;
    int64_t created;
    std::vector<ChoiceTotals> totals;
    std::vector<bool> role_sent;
    Usage usage;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
    bool finished = false;
  };
  auto c = std::make_shared<Ctx>();
  c->st = st;
  c->chat = chat;
  c->stream = r.stream;
  c->include_usage = r.include_usage;
  c->id = random_id(chat ? "chatcmpl-" : "cmpl-");
  c->model = opt.model_name;
  c->created = int64_t(std::time(nullptr));
  c->totals.resize(size_t(r.n));
  c->role_sent.assign(size_t(r.n), false);
  c->usage.prompt = n_prompt;
  Metrics* m = &metrics;

  auto chunk = [c](json choices) {
    json j = {{"id", c->id},
              {"object", c->chat ? "chat.completion.chunk" : "text_completion"},
              {"created", c->created},
              {"model", c->model},
              {"system_fingerprint", "sputnik"},
              {"choices", std::move(choices)}};
    if (c->include_usage) j["usage"] = nullptr;
    return sse_data(j);
  };
  // One streamed chunk per non-empty part of a delta (thinking and answer never share one).
  auto stream_delta = [c, chunk](const Delta& d) {
    std::string out;
    const auto i = size_t(d.index);
    if (c->chat) {
      auto piece = [&](json delta, json logprobs, json finish) {
        out += chunk(json::array({{{"index", d.index},
                                   {"delta", std::move(delta)},
                                   {"logprobs", std::move(logprobs)},
                                   {"finish_reason", std::move(finish)}}}));
      };
      if (!c->role_sent[i]) {
        c->role_sent[i] = true;
        piece({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr);
      }
      json lp = d.logprobs.is_null() ? json(nullptr) : json{{"content", d.logprobs}};
      if (!d.reasoning.empty()) {
        piece({{"content", nullptr}, {"reasoning_content", d.reasoning}}, d.content.empty() ? lp : json(nullptr), nullptr);
        if (d.content.empty()) lp = nullptr;
      }
      if (!d.content.empty() || !lp.is_null())
        piece({{"content", d.content}, {"reasoning_content", nullptr}}, lp, nullptr);
      if (!d.finish_reason.empty()) piece(json::object(), nullptr, d.finish_reason);
    } else if (!d.content.empty() || !d.logprobs.is_null() || !d.finish_reason.empty()) {
      json lp = d.logprobs.is_null() ? json(nullptr) : legacy_logprobs(d.logprobs, 0);
      out += chunk(json::array({{{"text", d.content},
                                 {"index", d.index},
                                 {"logprobs", lp},
                                 {"finish_reason", d.finish_reason.empty() ? json(nullptr)
                                                                            : json(d.finish_reason)}}}));
    }
    return out;
  };

  auto provider = [c, chunk, stream_delta, m](size_t, httplib::DataSink& sink) -> bool {
    if (c->finished) return false;
    bool all_done = false;
    std::deque<Delta> events = c->st->take(std::chrono::milliseconds(500), all_done);
    std::string out;
    for (const Delta& d : events) {
      auto& t = c->totals[size_t(d.index)];
      t.reasoning += d.reasoning;
      t.content += d.content;
      if (!d.logprobs.is_null())
        for (const auto& e : d.logprobs) t.logprobs.push_back(e);
      if (!d.finish_reason.empty()) {
        t.ended = true;
        t.finish_reason = d.finish_reason;
        t.error = d.error;
        c->usage.completion += d.end.completion_tokens;
        c->usage.reasoning += d.reasoning_tokens;
        if (d.index == 0) c->usage.cached = d.end.cached_tokens;
      }
      if (c->stream) {
        if (!d.error.empty() && d.end.finish_reason == "error")
          out += sse_data(error_body(d.error, "server_error", ""));
        else
          out += stream_delta(d);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    if (all_done) {
      c->finished = true;
      m->add_tokens(c->usage.prompt, c->usage.completion, c->usage.reasoning);
      m->inc_inflight(-1);
      if (c->stream) {
        if (c->include_usage) {
          json j = {{"id", c->id},
                    {"object", c->chat ? "chat.completion.chunk" : "text_completion"},
                    {"created", c->created},
                    {"model", c->model},
                    {"system_fingerprint", "sputnik"},
                    {"choices", json::array()},
                    {"usage", c->usage.to_json()}};
          out += sse_data(j);
        }
        out += sse_done();
      } else {
        json choices = json::array();
        std::string error;
        for (size_t i = 0; i < c->totals.size(); ++i) {
          const auto& t = c->totals[i];
          if (!t.error.empty()) error = t.error;
          if (c->chat) {
            json msg = {{"role", "assistant"}, {"content", t.content}};
            msg["reasoning_content"] = t.reasoning.empty() ? json(nullptr) : json(t.reasoning);
            choices.push_back({{"index", i},
                               {"message", msg},
                               {"logprobs", c->st->choices.empty() || t.logprobs.empty()
                                                ? json(nullptr)
                                                : json{{"content", t.logprobs}}},
                               {"finish_reason", t.finish_reason}});
          } else {
            choices.push_back({{"index", i},
                               {"text", t.content},
                               {"logprobs", t.logprobs.empty() ? json(nullptr) : legacy_logprobs(t.logprobs, 0)},
                               {"finish_reason", t.finish_reason}});
          }
        }
        json j;
        if (!error.empty()) {
          j = error_body(error, "server_error", "");
        } else {
          j = {{"id", c->id},
               {"object", c->chat ? "chat.completion" : "text_completion"},
               {"created", c->created},
               {"model", c->model},
               {"system_fingerprint", "sputnik"},
               {"choices", choices},
               {"usage", c->usage.to_json()}};
        }
        out += j.dump(-1, ' ', false, json::error_handler_t::replace);
      }
    } else if (out.empty() && now - c->last_write > std::chrono::seconds(2)) {
      // Nothing to say for a while (queued, or a non-streamed answer): probe the connection
      // so a client that went away is noticed and its slot freed.
      out = c->stream ? ": keep-alive\n\n" : " ";
    }
    if (!out.empty()) {
      c->last_write = now;
      if (!sink.write(out.data(), out.size())) {
        c->st->cancel();
        return false;
      }
    }
    if (all_done) sink.done();
    return true;
  };
  auto release = [c, m](bool) {
    // Connection gone or response finished: stop whatever still runs.
    c->st->cancel();
    if (!c->finished) {
      c->finished = true;
      m->inc_inflight(-1);
    }
  };
  res.status = 200;
  if (r.stream) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
  }
  res.set_chunked_content_provider(r.stream ? "text/event-stream" : "application/json", provider,
                                   release);
}

void Server::Impl::routes() {
  http.set_payload_max_length(opt.body_limit);
  http.set_keep_alive_max_count(1000);
  http.set_read_timeout(30, 0);
  http.set_write_timeout(10, 0);
  const int threads = opt.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opt.api_key.empty() || req.path.rfind("/v1", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (api_key_matches(req.get_header_value("Authorization"), opt.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    res.set_header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "invalid or missing API key (send 'Authorization: Bearer <key>')",
               "invalid_request_error", "invalid_api_key");
    metrics.count_request("auth", 401);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib sets itself (404, 413, 400 on bad HTTP) get an OpenAI-shaped body too.
  http.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request&,
                                                                  httplib::Response& res) {
    if (!res.body.empty() || res.is_chunked_content_provider_)
      return httplib::Server::HandlerResponse::Unhandled;
    std::string msg = fmt::format("HTTP {}", res.status);
    if (res.status == 404) msg = "not found";
    if (res.status == 413) msg = "the request body is too large";
    if (res.status == 405) msg = "method not allowed";
    send_error(res, res.status, msg, res.status >= 500 ? "server_error" : "invalid_request_error");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, 500, "internal error", "server_error");
  });

  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    guarded("chat", res, [&] { generation(req, res, true); });
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    guarded("completions", res, [&] { generation(req, res, false); });
  });
  auto model_json = [this] {
    return json{{"id", opt.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "sputnik"}};
  };
  http.Get("/v1/models", [this, model_json](const httplib::Request&, httplib::Response& res) {
    guarded("models", res, [&] {
      send_json(res, 200, {{"object", "list"}, {"data", json::array({model_json()})}});
    });
  });
  http.Get("/v1/models/(.+)", [this, model_json](const httplib::Request& req, httplib::Response& res) {
    guarded("models", res, [&] {
      if (req.matches[1] != opt.model_name)
        throw ApiError(404, fmt::format("model '{}' does not exist", std::string(req.matches[1])),
                       "invalid_request_error", "model_not_found");
      send_json(res, 200, model_json());
    });
  });
  http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    guarded("health", res, [&] {
      const auto s = scheduler.stats();
      send_json(res, 200, {{"status", "ok"}, {"slots", s.slots}, {"active", s.active}, {"queued", s.queued}});
    });
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    guarded("metrics", res, [&] {
      res.set_content(metrics.render(scheduler.stats()), "text/plain; version=0.0.4");
    });
  });
  http.Get("/(.*)", [this](const httplib::Request& req, httplib::Response& res) {
    std::string path = req.path == "/" ? "/index.html" : req.path;
    for (const auto& a : web_assets()) {
      if (a.path != path) continue;
      res.set_content(std::string(a.data), std::string(a.mime).c_str());
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'");
      metrics.count_request("web", 200);
      return;
    }
    send_error(res, 404, fmt::format("no such page: {}", req.path));
    metrics.count_request("web", 404);
  });
}

Server::Server(Scheduler& scheduler, const PromptBuilder& prompts, ServerOptions options)
    : impl_(std::make_unique<Impl>(scheduler, prompts, std::move(options))) {
  impl_->routes();
}

Server::~Server() { stop(); }

void Server::bind() {
  if (impl_->opt.port == 0) {
    port_ = impl_->http.bind_to_any_port(impl_->opt.host);
    if (port_ <= 0) fail("cannot listen on {} (any port)", impl_->opt.host);
  } else {
    if (!impl_->http.bind_to_port(impl_->opt.host, impl_->opt.port))
      fail("cannot listen on {}:{} (address in use, or not a local address?)", impl_->opt.host,
           impl_->opt.port);
    port_ = impl_->opt.port;
  }
}

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace sputnik::server
