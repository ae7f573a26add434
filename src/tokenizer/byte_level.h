#pragma once
// GPT-2's byte-level alphabet: every byte is shown as one printable character (space -> 'Ġ',
// newline -> 'Ċ', ...). Vocabulary and merges of byte-level BPE models are written in it.
#include <string>
#include <string_view>

namespace sputnik::byte_level {

// The character (UTF-8) that stands for byte b.
std::string_view char_of(unsigned char b);
std::string encode(std::string_view bytes);
// Maps a token written in the alphabet back to its bytes; false (out untouched) when some
// character is not in the alphabet (e.g. added tokens such as "<think>" are kept verbatim).
bool decode(std::string_view token, std::string& out);

}  // namespace sputnik::byte_level
