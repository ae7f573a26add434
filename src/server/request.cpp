#include "server/request.h"

#include <cmath>
#include <limits>

#include "server/api_error.h"

namespace sputnik::server {
namespace {

using nlohmann::json;

const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;  // null means "default", as OpenAI
  return &*it;
}

double number(const json& v, const char* name, double lo, double hi) {
  if (!v.is_number()) bad_request("'{}' must be a number", name);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) bad_request("'{}' must be in [{}, {}] (got {})", name, lo, hi, x);
  return x;
}

int64_t integer(const json& v, const char* name, int64_t lo, int64_t hi) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d)) bad_request("'{}' must be an integer", name);
    if (d < double(lo) || d > double(hi)) bad_request("'{}' must be in [{}, {}] (got {})", name, lo, hi, d);
    return int64_t(d);
  }
  if (!v.is_number_integer()) bad_request("'{}' must be an integer", name);
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    bad_request("'{}' must be in [{}, {}]", name, lo, hi);
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) bad_request("'{}' must be in [{}, {}] (got {})", name, lo, hi, x);
  return x;
}

bool boolean(const json& v, const char* name) {
  if (!v.is_boolean()) bad_request("'{}' must be true or false", name);
  return v.get<bool>();
}

// Message content: a string or a list of {"type":"text","text":...} parts (joined).
std::string content_text(const json& v, size_t index) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) bad_request("messages[{}].content must be a string or a list of text parts", index);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& part = v[i];
    if (!part.is_object()) bad_request("messages[{}].content[{}] must be an object", index, i);
    auto type = part.find("type");
    if (type == part.end() || !type->is_string())
      bad_request("messages[{}].content[{}].type must be a string", index, i);
    if (*type != "text")
      bad_request("messages[{}].content[{}]: only text parts are supported (got '{}')", index, i,
                  type->get<std::string>());
    auto text = part.find("text");
    if (text == part.end() || !text->is_string())
      bad_request("messages[{}].content[{}].text must be a string", index, i);
    out += text->get<std::string>();
  }
  return out;
}

void parse_common(const json& body, const RequestLimits& limits, GenerationRequest& r) {
  if (!body.is_object()) bad_request("request body must be a JSON object");
  if (auto* v = field(body, "model")) {
    if (!v->is_string()) bad_request("'model' must be a string");
    r.model = v->get<std::string>();
  }
  if (auto* v = field(body, "stream")) r.stream = boolean(*v, "stream");
  if (auto* v = field(body, "stream_options")) {
    if (!v->is_object()) bad_request("'stream_options' must be an object");
    if (!r.stream) bad_request("'stream_options' is only allowed when 'stream' is true");
    if (auto* u = field(*v, "include_usage")) r.include_usage = boolean(*u, "stream_options.include_usage");
  }
  // OpenAI's defaults (not the CLI's): plain sampling at temperature 1, no truncation.
  SamplingParams& s = r.sampling;
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  s.penalty_last_n = -1;
  if (auto* v = field(body, "temperature")) s.temperature = float(number(*v, "temperature", 0, 2));
  if (auto* v = field(body, "top_p")) {
    s.top_p = float(number(*v, "top_p", 0, 1));
    if (s.top_p <= 0) bad_request("'top_p' must be greater than 0");
  }
  if (auto* v = field(body, "top_k")) s.top_k = int(integer(*v, "top_k", -1, 1 << 20));
  if (auto* v = field(body, "min_p")) s.min_p = float(number(*v, "min_p", 0, 1));
  if (auto* v = field(body, "presence_penalty"))
    s.presence_penalty = float(number(*v, "presence_penalty", -2, 2));
  if (auto* v = field(body, "frequency_penalty"))
    s.frequency_penalty = float(number(*v, "frequency_penalty", -2, 2));
  if (auto* v = field(body, "repetition_penalty"))
    s.repetition_penalty = float(number(*v, "repetition_penalty", 0.01, 10));
  if (auto* v = field(body, "seed")) {
    s.seed = uint64_t(integer(*v, "seed", std::numeric_limits<int64_t>::min(),
                              std::numeric_limits<int64_t>::max()));
    r.seeded = true;
  }
  if (auto* v = field(body, "stop")) {
    if (v->is_string()) {
      r.stop.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (int(v->size()) > limits.max_stops)
        bad_request("'stop' may hold at most {} strings (got {})", limits.max_stops, v->size());
      for (size_t i = 0; i < v->size(); ++i) {
        if (!(*v)[i].is_string()) bad_request("'stop[{}]' must be a string", i);
        r.stop.push_back((*v)[i].get<std::string>());
      }
    } else {
      bad_request("'stop' must be a string or a list of strings");
    }
    for (const auto& st : r.stop)
      if (st.empty()) bad_request("'stop' strings must not be empty");
  }
  if (auto* v = field(body, "n")) r.n = int(integer(*v, "n", 1, limits.max_n));
  // max_completion_tokens is the newer name; either may come.
  for (const char* name : {"max_tokens", "max_completion_tokens"})
    if (auto* v = field(body, name)) r.max_tokens = integer(*v, name, 1, limits.ctx);
  if (auto* v = field(body, "max_reasoning_tokens"))
    r.max_reasoning_tokens = integer(*v, "max_reasoning_tokens", 0, limits.ctx);
  if (auto* v = field(body, "reasoning_effort")) {
    if (!v->is_string()) bad_request("'reasoning_effort' must be a string");
    if (!r.max_reasoning_tokens) r.max_reasoning_tokens = reasoning_budget_for_effort(v->get<std::string>());
  }
}

}  // namespace

int reasoning_budget_for_effort(const std::string& effort) {
  if (effort == "low") return 256;
  if (effort == "medium") return 1024;
  if (effort == "high") return 4096;
  bad_request("'reasoning_effort' must be low, medium or high (got '{}')", effort);
}

GenerationRequest parse_chat_request(const json& body, const RequestLimits& limits) {
  GenerationRequest r;
  r.chat = true;
  parse_common(body, limits, r);
  const json* msgs = field(body, "messages");
  if (!msgs) bad_request("'messages' is required");
  if (!msgs->is_array()) bad_request("'messages' must be a list");
  if (msgs->empty()) bad_request("'messages' must not be empty");
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    if (!m.is_object()) bad_request("messages[{}] must be an object", i);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) bad_request("messages[{}].role must be a string", i);
    ChatMessage msg;
    msg.role = role->get<std::string>();
    if (msg.role == "developer") msg.role = "system";
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      bad_request("messages[{}].role '{}' is not one of system, user, assistant", i,
                  role->get<std::string>());
    const json* content = field(m, "content");
    if (!content) {
      if (msg.role != "assistant") bad_request("messages[{}].content is required", i);
    } else {
      msg.content = content_text(*content, i);
    }
    // reasoning_content of earlier assistant turns is dropped, as DeepSeek's API does.
    r.messages.push_back(std::move(msg));
  }
  if (auto* v = field(body, "logprobs")) r.logprobs = boolean(*v, "logprobs");
  if (auto* v = field(body, "top_logprobs")) {
    r.top_logprobs = int(integer(*v, "top_logprobs", 0, limits.max_top_logprobs));
    if (r.top_logprobs > 0 && !r.logprobs) bad_request("'top_logprobs' requires 'logprobs': true");
  }
  return r;
}

GenerationRequest parse_completion_request(const json& body, const RequestLimits& limits) {
  GenerationRequest r;
  r.chat = false;
  parse_common(body, limits, r);
  const json* p = field(body, "prompt");
  if (!p) bad_request("'prompt' is required");
  if (p->is_string()) {
    r.prompt = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    r.prompt = (*p)[0].get<std::string>();
  } else {
    bad_request("'prompt' must be a string (or a list holding one string)");
  }
  if (r.prompt.empty()) bad_request("'prompt' must not be empty");
  // Legacy completions: logprobs is the number of alternatives (0..limit).
  if (auto* v = field(body, "logprobs")) {
    if (v->is_boolean()) {
      r.logprobs = v->get<bool>();
    } else {
      r.top_logprobs = int(integer(*v, "logprobs", 0, limits.max_top_logprobs));
      r.logprobs = true;
    }
  }
  return r;
}

}  // namespace sputnik::server
