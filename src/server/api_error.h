#pragma once
// Errors the HTTP layer turns into OpenAI-shaped bodies {"error":{"message","type","code"}}.
// ApiError is a sputnik::Error, so code below the server can keep throwing plain Errors (those
// become 400 invalid_request_error when they come from a request, 500 otherwise).
#include <nlohmann/json.hpp>

#include <string>

#include "core/error.h"

namespace sputnik::server {

class ApiError : public Error {
 public:
  ApiError(int status, std::string message, std::string type = "invalid_request_error",
           std::string code = "")
      : Error(message), status_(status), type_(std::move(type)), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string type_, code_;
};

template <typename... Args>
[[noreturn]] void bad_request(fmt::format_string<Args...> format, Args&&... args) {
  throw ApiError(400, fmt::format(format, std::forward<Args>(args)...));
}

inline nlohmann::json error_body(const std::string& message, const std::string& type,
                                 const std::string& code) {
  nlohmann::json e = {{"message", message}, {"type", type}};
  e["code"] = code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code);
  return {{"error", e}};
}

}  // namespace sputnik::server
