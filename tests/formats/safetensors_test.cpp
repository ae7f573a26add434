#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "hf_test_util.h"

using namespace sputnik;
using namespace sputnik::testing;
using nlohmann::json;

namespace {

const std::byte* as_bytes(const std::string& s) { return reinterpret_cast<const std::byte*>(s.data()); }

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

// Parsing `bytes` must throw Error whose message names the file and contains `problem`.
void expect_error(const std::string& bytes, const std::string& problem) {
  try {
    parse_safetensors(as_bytes(bytes), bytes.size(), "bad.safetensors");
    ADD_FAILURE() << "no error; expected one about: " << problem;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find(problem), std::string::npos) << "message: " << msg;
  }
}

// A file whose header is exactly `header` (no padding games), followed by `data_bytes` bytes.
std::string with_header(const json& header, size_t data_bytes) {
  std::string h = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
  return out + h + std::string(data_bytes, '\x01');
}

json entry(const std::string& dtype, std::vector<int64_t> shape, uint64_t b, uint64_t e) {
  return {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {b, e}}};
}

}  // namespace

TEST(Safetensors, RoundTripsEveryDtype) {
  const std::vector<std::pair<std::string, size_t>> dtypes = {
      {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"F8_E4M3", 1}, {"I8", 1},
      {"I16", 2}, {"I32", 4}, {"I64", 8},  {"U8", 1},  {"BOOL", 1}};
  std::vector<RawTensor> raw;
  uint32_t seed = 1;
  for (const auto& [dt, size] : dtypes) {
    raw.push_back({"t." + dt, dt, {3, 5}, random_bytes(15 * size, seed++)});
    raw.push_back({"scalar." + dt, dt, {}, random_bytes(size, seed++)});
    raw.push_back({"empty." + dt, dt, {0, 4}, {}});
    raw.push_back({"cube." + dt, dt, {2, 3, 4}, random_bytes(24 * size, seed++)});
  }
  const std::string file = safetensors_bytes(raw, json{{"format", "pt"}});
  SafetensorsFile st = parse_safetensors(as_bytes(file), file.size(), "rt.safetensors");
  EXPECT_EQ(st.metadata["format"], "pt");
  ASSERT_EQ(st.tensors.size(), raw.size());
  for (const RawTensor& r : raw) {
    const TensorView* v = nullptr;
    for (const auto& t : st.tensors)
      if (t.name == r.name) v = &t;
    ASSERT_NE(v, nullptr) << r.name;
    EXPECT_EQ(dtype_name(v->dtype), r.dtype);
    EXPECT_EQ(v->shape, r.shape) << r.name;
    ASSERT_EQ(v->nbytes, r.bytes.size()) << r.name;
    EXPECT_GE(v->data, as_bytes(file) + st.data_start);
    EXPECT_LE(v->data + v->nbytes, as_bytes(file) + file.size());
    if (v->nbytes) {
      EXPECT_EQ(std::memcmp(v->data, r.bytes.data(), v->nbytes), 0) << r.name;
    }
  }
  // Views are ordered by offset, i.e. the order the writer laid them out.
  for (size_t i = 1; i < st.tensors.size(); ++i)
    EXPECT_LE(st.tensors[i - 1].data, st.tensors[i].data);
}

TEST(Safetensors, ParsesFromMappedFileWithZeroCopy) {
  TempDir dir("st_mapped");
  const auto values = std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  write_file(dir.path / "a.safetensors",
             safetensors_bytes({{"w", "F32", {2, 3}, bytes_of(values)}}));
  auto file = MappedFile::open((dir.path / "a.safetensors").string());
  SafetensorsFile st = parse_safetensors(*file);
  ASSERT_EQ(st.tensors.size(), 1u);
  const TensorView& w = st.tensors[0];
  EXPECT_GE(w.data, file->data());
  EXPECT_LT(w.data, file->data() + file->size());
  float got[6];
  std::memcpy(got, w.data, sizeof got);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], values[i]);
  EXPECT_EQ(w.rows(), 2);
  EXPECT_EQ(w.cols(), 3);
}

TEST(Safetensors, ErrorsNameTheFileForTruncation) {
  TempDir dir("st_trunc");
  const std::string good = safetensors_bytes({{"w", "F32", {4, 4}, random_bytes(64, 7)}});
  write_file(dir.path / "cut.safetensors", good.substr(0, good.size() - 5));
  auto file = MappedFile::open((dir.path / "cut.safetensors").string());
  try {
    parse_safetensors(*file);
    FAIL() << "truncated file parsed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("past the end"), std::string::npos) << e.what();
  }
  write_file(dir.path / "empty.safetensors", "");
  auto empty = MappedFile::open((dir.path / "empty.safetensors").string());
  EXPECT_THROW(parse_safetensors(*empty), Error);
}

TEST(Safetensors, RejectsShortAndLyingHeaders) {
  expect_error("", "too short");
  expect_error(std::string(7, '\0'), "too short");
  std::string good = safetensors_bytes({{"w", "F32", {2}, random_bytes(8, 3)}});
  std::string lying = good;
  lying[0] = char(0xff);  // header length far beyond the file
  lying[5] = 1;
  expect_error(lying, "header length");
  std::string huge = good;
  for (int i = 0; i < 8; ++i) huge[i] = char(0xff);  // 2^64-1: must not wrap around
  expect_error(huge, "header length");
}

TEST(Safetensors, RejectsBadJson) {
  std::string s(8, '\0');
  s[0] = 5;
  expect_error(s + "{\"a\":", "not valid JSON");
  s[0] = 2;
  expect_error(s + "[]", "not a JSON object");
  expect_error(with_header(json{{"__metadata__", "x"}}, 0), "__metadata__");
  expect_error(with_header(json{{"w", 3}}, 0), "not an object");
  expect_error(with_header(json{{"", entry("F32", {1}, 0, 4)}}, 4), "empty name");
}

TEST(Safetensors, RejectsBadEntries) {
  expect_error(with_header(json{{"w", {{"shape", {1}}, {"data_offsets", {0, 4}}}}}, 4), "dtype");
  expect_error(with_header(json{{"w", {{"dtype", "F32"}, {"data_offsets", {0, 4}}}}}, 4), "shape");
  expect_error(with_header(json{{"w", {{"dtype", "F32"}, {"shape", {1}}}}}, 4), "data_offsets");
  expect_error(with_header(json{{"w", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0}}}}}, 4),
               "data_offsets");
  expect_error(with_header(json{{"w", entry("F8_E5M2", {4}, 0, 4)}}, 4), "unsupported dtype 'F8_E5M2'");
  expect_error(with_header(json{{"w", entry("Q4_0", {32}, 0, 18)}}, 18), "unsupported dtype 'Q4_0'");
  expect_error(with_header(json{{"w", entry("F32", {-1, 4}, 0, 4)}}, 4), "non-negative");
  expect_error(with_header(json{{"w", {{"dtype", "F32"}, {"shape", {1.5}}, {"data_offsets", {0, 4}}}}}, 4),
               "non-negative");
  expect_error(with_header(json{{"w", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {-4, 0}}}}}, 4),
               "data_offsets");
  const int64_t big = int64_t(1) << 40;
  expect_error(with_header(json{{"w", entry("F32", {big, big}, 0, 4)}}, 4), "overflows");
  // numel fits in 64 bits, numel * 8 bytes does not.
  expect_error(with_header(json{{"w", entry("F64", {int64_t(1) << 31, int64_t(1) << 30}, 0, 4)}}, 4),
               "overflows");
}

TEST(Safetensors, RejectsBadOffsets) {
  // Wrong size for dtype x shape (F32 [2] needs 8 bytes).
  expect_error(with_header(json{{"w", entry("F32", {2}, 0, 4)}}, 8), "needs 8");
  expect_error(with_header(json{{"w", entry("BF16", {3}, 0, 8)}}, 8), "needs 6");
  // Out of range.
  expect_error(with_header(json{{"w", entry("F32", {2}, 4, 12)}}, 8), "past the end");
  expect_error(with_header(json{{"w", entry("U8", {1}, uint64_t(1) << 62, (uint64_t(1) << 62) + 1)}}, 8),
               "past the end");
  // Backwards.
  expect_error(with_header(json{{"w", entry("U8", {0}, 4, 0)}}, 8), "backwards");
  // Overlap.
  expect_error(with_header(json{{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F32", {2}, 4, 12)}}, 12),
               "overlap");
  // Adjacent and empty tensors are fine.
  const std::string ok =
      with_header(json{{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F32", {2}, 8, 16)},
                       {"c", entry("F32", {0}, 4, 4)}},
                  16);
  EXPECT_EQ(parse_safetensors(as_bytes(ok), ok.size(), "ok").tensors.size(), 3u);
}
