#pragma once
// One exception type for every user-facing failure (bad file, bad shape, bad argument).
// The CLI catches it, prints the message and exits non-zero; nothing calls abort() on bad input.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace sputnik {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// For conditions that only a bug (not bad input) can violate.
#define SPUTNIK_CHECK(cond)                                                                   \
  do {                                                                                        \
    if (!(cond)) ::sputnik::fail("internal check failed: {} ({}:{})", #cond, __FILE__, __LINE__); \
  } while (0)

}  // namespace sputnik
