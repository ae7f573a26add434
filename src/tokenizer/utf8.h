#pragma once
// UTF-8 helpers with the exact semantics of Rust's `String::from_utf8_lossy`, which is what the
// Hugging Face decoders use: every maximal invalid subsequence becomes one U+FFFD.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sputnik::utf8 {

// What starts at s[0]: a complete valid character (`valid`, `length` bytes), an invalid
// maximal subpart (`length` bytes to replace by one U+FFFD), or the valid beginning of a
// character that the end of `s` cuts short (`incomplete`).
struct Step {
  enum Kind : uint8_t { Valid, Invalid, Incomplete } kind;
  uint8_t length;
};
Step classify(const unsigned char* s, size_t n);

bool is_valid(std::string_view s);

// Appends `bytes` to `out`, replacing invalid sequences. When `final` is false a trailing
// incomplete character is left unconsumed; returns how many bytes were consumed.
size_t append_lossy(std::string& out, std::string_view bytes, bool final = true);
std::string lossy(std::string_view bytes);

// Decodes the character at s[i] (input must be valid) and advances i.
uint32_t next(std::string_view s, size_t& i);
void append(std::string& out, uint32_t cp);

// Unicode White_Space (Rust's char::is_whitespace, Oniguruma's and Rust regex's \s).
bool is_white_space(uint32_t cp);

}  // namespace sputnik::utf8
