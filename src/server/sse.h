#pragma once
// Server-sent events framing as OpenAI streams it: one `data: <json>` line per chunk, a blank
// line after each, and `data: [DONE]` at the end. JSON is dumped on one line (nlohmann never
// emits raw newlines inside strings), so a chunk can never be split by the framing.
#include <nlohmann/json.hpp>

#include <string>

namespace sputnik::server {

std::string sse_data(const nlohmann::json& chunk);
std::string sse_done();

}  // namespace sputnik::server
