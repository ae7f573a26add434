#pragma once
// Parsing and validation of /v1/chat/completions and /v1/completions bodies into one
// GenerationRequest. Every problem (wrong type, out-of-range value, unknown role, empty list)
// throws ApiError 400 naming the offending field; unknown fields are ignored, as OpenAI does.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sampler.h"

namespace sputnik::server {

struct ChatMessage {
  std::string role;  // system, user or assistant ("developer" is read as system)
  std::string content;
};

struct RequestLimits {
  int max_n = 8;
  int max_top_logprobs = 20;
  int max_stops = 16;
  int64_t ctx = 4096;  // tokens per sequence: max_tokens may not exceed it
};

// reasoning_effort -> thinking budget in tokens.
int reasoning_budget_for_effort(const std::string& effort);

struct GenerationRequest {
  bool chat = true;
  std::string model;
  std::vector<ChatMessage> messages;  // chat
  std::string prompt;                 // completions
  bool stream = false;
  bool include_usage = false;
  std::optional<int64_t> max_tokens;  // unset: until the context is full
  SamplingParams sampling;
  bool seeded = false;
  std::vector<std::string> stop;
  int n = 1;
  bool logprobs = false;
  int top_logprobs = 0;
  std::optional<int64_t> max_reasoning_tokens;  // unset: no thinking budget
};

GenerationRequest parse_chat_request(const nlohmann::json& body, const RequestLimits& limits);
GenerationRequest parse_completion_request(const nlohmann::json& body, const RequestLimits& limits);

}  // namespace sputnik::server
