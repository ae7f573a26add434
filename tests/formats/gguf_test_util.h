#pragma once
// Shared helpers of the GGUF tests: fixture paths, the gguf-py description of each fixture,
// CRC-32 (to compare tensor bytes with what gguf-py wrote), byte patching.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

namespace sputnik::test {

inline std::string gguf_fixture(const std::string& name) {
  return std::string(SPUTNIK_SOURCE_DIR) + "/tests/formats/data/" + name;
}

// The entry of tests/formats/data/gguf_fixtures.json for one file (written by
// make_gguf_fixtures.py from gguf-py's GGUFReader).
inline nlohmann::json gguf_fixture_description(const std::string& file) {
  std::ifstream in(gguf_fixture("gguf_fixtures.json"));
  EXPECT_TRUE(in.good());
  nlohmann::json all = nlohmann::json::parse(in);
  for (const auto& f : all)
    if (f["file"] == file) return f;
  ADD_FAILURE() << "no description for " << file;
  return {};
}

inline std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  if (!c.empty()) std::memcpy(out.data(), c.data(), c.size());
  return out;
}

inline void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// zlib's CRC-32 (the polynomial Python's zlib.crc32 uses).
inline uint32_t crc32(const std::byte* p, size_t n) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ uint8_t(p[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

template <typename T>
void poke(std::vector<std::byte>& bytes, size_t at, T value) {
  ASSERT_LE(at + sizeof(T), bytes.size());
  std::memcpy(bytes.data() + at, &value, sizeof(T));
}

// Offset just past the first occurrence of `s` (a tensor or key name) in the file.
inline size_t after(const std::vector<std::byte>& bytes, const std::string& s) {
  auto* b = reinterpret_cast<const char*>(bytes.data());
  std::string_view all(b, bytes.size());
  size_t at = all.find(s);
  EXPECT_NE(at, std::string_view::npos) << s;
  return at == std::string_view::npos ? 0 : at + s.size();
}

inline std::string temp_path(const std::string& name) {
  return testing::TempDir() + "sputnik_" + std::to_string(::getpid()) + "_" + name;
}

}  // namespace sputnik::test
