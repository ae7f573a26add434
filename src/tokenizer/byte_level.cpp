#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace sputnik::byte_level {

namespace {

struct Tables {
  std::array<std::string, 256> chars;
  std::array<int16_t, 324> byte_of;  // code point (all < 324) -> byte, -1 if none
  Tables() {
    byte_of.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + n++);
      utf8::append(chars[b], cp);
      byte_of[cp] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string_view char_of(unsigned char b) { return tables().chars[b]; }

std::string encode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) out += t.chars[b];
  return out;
}

bool decode(std::string_view token, std::string& out) {
  const auto& t = tables();
  const size_t mark = out.size();
  size_t i = 0;
  while (i < token.size()) {
    const utf8::Step st = utf8::classify(reinterpret_cast<const unsigned char*>(token.data()) + i, token.size() - i);
    if (st.kind != utf8::Step::Valid) break;
    const uint32_t cp = utf8::next(token, i);
    if (cp >= t.byte_of.size() || t.byte_of[cp] < 0) break;
    out.push_back(char(t.byte_of[cp]));
  }
  if (i == token.size()) return true;
  out.resize(mark);
  return false;
}

}  // namespace sputnik::byte_level
