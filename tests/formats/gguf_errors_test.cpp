// Bad GGUF input: every failure is a sputnik::Error naming the file and the problem.
#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"
#include "gguf_test_util.h"

namespace sputnik {
namespace {

using test::after;
using test::poke;

const std::string kName = "bad.gguf";

// Parses `bytes` and returns the Error message ("" when it parsed).
std::string parse_error(const std::vector<std::byte>& bytes) {
  try {
    GgufFile f = parse_gguf(bytes.data(), bytes.size(), kName);
    gguf_to_store(f, bytes.data());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_GGUF_ERROR(bytes, fragment)                        \
  do {                                                            \
    const std::string msg = parse_error(bytes);                   \
    EXPECT_NE(msg.find(kName), std::string::npos) << msg;         \
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;      \
  } while (0)

// A small valid qwen2 file: one tensor per interesting place.
std::vector<std::byte> small_file(const std::string& arch = "qwen2") {
  static std::vector<float> weights(64 * 32, 0.25f);
  GgufWriter w;
  w.add("general.architecture", GgufValue::str(arch));
  w.add(arch + ".block_count", GgufValue::u32(1));
  w.add(arch + ".embedding_length", GgufValue::u32(32));
  w.add(arch + ".feed_forward_length", GgufValue::u32(64));
  w.add(arch + ".attention.head_count", GgufValue::u32(4));
  w.add("tokenizer.ggml.tokens", GgufValue::array(GgufType::STRING, {GgufValue::str("a"), GgufValue::str("b")}));
  w.add_tensor("token_embd.weight", DType::F32, {64, 32}, weights.data());
  w.add_tensor("output_norm.weight", DType::F32, {32}, weights.data());
  return w.to_bytes();
}

TEST(GgufErrors, SmallFileIsValid) {
  EXPECT_EQ(parse_error(small_file()), "");
}

TEST(GgufErrors, TruncatedAnywhere) {
  // Every prefix of the real gguf-py fixture is rejected with the file named, none crashes.
  const auto full = test::read_bytes(test::gguf_fixture("gguf_qwen2.gguf"));
  ASSERT_GT(full.size(), 4000u);
  for (size_t n = 0; n < full.size(); n += (n < 3000 ? 1 : 97)) {
    std::vector<std::byte> cut(full.begin(), full.begin() + n);
    const std::string msg = parse_error(cut);
    ASSERT_NE(msg, "") << "prefix of " << n << " bytes parsed";
    ASSERT_NE(msg.find(kName), std::string::npos) << msg;
  }
  std::vector<std::byte> last(full.begin(), full.end() - 1);
  EXPECT_GGUF_ERROR(last, "beyond the end of the file");
}

TEST(GgufErrors, BadMagicAndVersion) {
  auto b = small_file();
  b[0] = std::byte('X');
  EXPECT_GGUF_ERROR(b, "not a GGUF file");
  b = small_file();
  poke<uint32_t>(b, 4, 1);
  EXPECT_GGUF_ERROR(b, "version 1");
  poke<uint32_t>(b, 4, 7);
  EXPECT_GGUF_ERROR(b, "unsupported GGUF version 7");
  poke<uint32_t>(b, 4, 0x03000000);
  EXPECT_GGUF_ERROR(b, "big-endian");
  b = small_file();
  poke<uint32_t>(b, 4, 2);  // v2 has the same layout
  EXPECT_EQ(parse_error(b), "");
}

TEST(GgufErrors, LyingCounts) {
  auto b = small_file();
  poke<uint64_t>(b, 8, uint64_t(1) << 60);  // tensors
  EXPECT_GGUF_ERROR(b, "claims 1152921504606846976 tensors");
  b = small_file();
  poke<uint64_t>(b, 16, ~uint64_t(0));  // metadata entries
  EXPECT_GGUF_ERROR(b, "metadata entries");
  b = small_file();
  poke<uint64_t>(b, 16, 7);  // one more entry than present: runs into the tensor infos
  EXPECT_NE(parse_error(b), "");
  b = small_file();
  poke<uint64_t>(b, 8, 3);  // one more tensor than present
  EXPECT_NE(parse_error(b), "");
}

TEST(GgufErrors, LyingLengths) {
  auto b = small_file();
  poke<uint64_t>(b, 24, uint64_t(1) << 62);  // first key's length
  EXPECT_GGUF_ERROR(b, "claims 4611686018427387904 bytes");
  // The token array: u32 element type then u64 count right after the key and ARRAY type.
  b = small_file();
  const size_t arr = after(b, "tokenizer.ggml.tokens") + 4;
  poke<uint64_t>(b, arr + 4, uint64_t(1) << 61);
  EXPECT_GGUF_ERROR(b, "array elements");
  b = small_file();
  poke<uint64_t>(b, arr + 12, uint64_t(1) << 40);  // first string's length
  EXPECT_GGUF_ERROR(b, "tokenizer.ggml.tokens");
  b = small_file();
  poke<uint32_t>(b, arr, 13);  // element type
  EXPECT_GGUF_ERROR(b, "unknown metadata value type 13");
  b = small_file();
  poke<uint32_t>(b, after(b, "general.architecture"), 99);  // value type
  EXPECT_GGUF_ERROR(b, "unknown metadata value type 99");
}

TEST(GgufErrors, DeeplyNestedArrays) {
  GgufValue v = GgufValue::u32(1);
  for (int i = 0; i < 20; ++i) {
    GgufType elem = v.type;
    v = GgufValue::array(elem, {v});
  }
  GgufWriter w;
  w.add("deep", v);
  EXPECT_GGUF_ERROR(w.to_bytes(), "nested deeper");
}

TEST(GgufErrors, TensorInfoLies) {
  const size_t info = after(small_file(), "token_embd.weight");  // n_dims, ne[2], type, offset
  auto b = small_file();
  poke<uint32_t>(b, info, 5);
  EXPECT_GGUF_ERROR(b, "5 dimensions");
  b = small_file();
  poke<uint64_t>(b, info + 4, ~uint64_t(0));
  EXPECT_GGUF_ERROR(b, "negative dimension");
  b = small_file();
  poke<uint64_t>(b, info + 4, uint64_t(1) << 40);
  poke<uint64_t>(b, info + 12, uint64_t(1) << 40);
  EXPECT_GGUF_ERROR(b, "dimensions overflow");
  b = small_file();
  poke<uint64_t>(b, info + 12, uint64_t(1) << 30);  // huge but not overflowing: beyond the file
  EXPECT_GGUF_ERROR(b, "beyond the end of the file");
  b = small_file();
  poke<uint32_t>(b, info + 20, 16);
  EXPECT_GGUF_ERROR(b, "unsupported type IQ2_XXS");
  poke<uint32_t>(b, info + 20, 4242);
  EXPECT_GGUF_ERROR(b, "ggml type 4242");
  b = small_file();
  poke<uint32_t>(b, info + 20, 8);  // Q8_0 with 32-wide rows is fine...
  EXPECT_EQ(parse_error(b), "");
  poke<uint64_t>(b, info + 4, 48);  // ...48 is not whole blocks
  EXPECT_GGUF_ERROR(b, "not a multiple of its block size");
  b = small_file();
  poke<uint64_t>(b, info + 24, 1u << 20);  // offset
  EXPECT_GGUF_ERROR(b, "beyond the end of the file");
  b = small_file();
  poke<uint64_t>(b, info + 24, 8);
  EXPECT_GGUF_ERROR(b, "not a multiple of the alignment");
  b = small_file();
  poke<uint64_t>(b, info + 24, ~uint64_t(0) - 31);  // aligned, wraps around when added
  EXPECT_GGUF_ERROR(b, "beyond the end of the file");
  b = small_file();
  const size_t norm = after(b, "output_norm.weight");  // n_dims=1, ne, type, offset
  poke<uint64_t>(b, norm + 16, 64);                    // inside token_embd's bytes
  EXPECT_GGUF_ERROR(b, "overlap");
}

TEST(GgufErrors, Duplicates) {
  float x[32] = {};
  GgufWriter w;
  w.add("general.architecture", GgufValue::str("qwen2"));
  w.add("k1", GgufValue::u32(1));
  w.add("k2", GgufValue::u32(2));
  w.add_tensor("t1", DType::F32, {32}, x);
  w.add_tensor("t2", DType::F32, {32}, x);
  EXPECT_THROW(w.add("k1", GgufValue::u32(3)), Error);
  EXPECT_THROW(w.add_tensor("t1", DType::F32, {32}, x), Error);
  const auto good = w.to_bytes();
  // Same-length names patched in place.
  auto b = good;
  std::memcpy(b.data() + after(b, "k2") - 2, "k1", 2);
  EXPECT_GGUF_ERROR(b, "metadata key 'k1' appears twice");
  b = good;
  std::memcpy(b.data() + after(b, "t2") - 2, "t1", 2);
  EXPECT_GGUF_ERROR(b, "tensor 't1' appears twice");
}

TEST(GgufErrors, BadAlignmentInFile) {
  float x[32] = {};
  EXPECT_THROW(GgufWriter().add("general.alignment", GgufValue::u32(48)), Error);
  GgufWriter w;
  w.add("general.alignment", GgufValue::u32(64));
  w.add_tensor("a", DType::F32, {32}, x);
  auto b = w.to_bytes();
  const size_t value = after(b, "general.alignment") + 4;
  poke<uint32_t>(b, value, 48);
  EXPECT_GGUF_ERROR(b, "not a power of two");
  poke<uint32_t>(b, value, 0);
  EXPECT_GGUF_ERROR(b, "not a power of two");
  poke<uint32_t>(b, value - 4, uint32_t(GgufType::I32));
  EXPECT_GGUF_ERROR(b, "must be a u32");
}

TEST(GgufErrors, ModelLevelProblems) {
  EXPECT_GGUF_ERROR(small_file("llama"), "unsupported GGUF architecture 'llama'");
  // Missing required key.
  GgufWriter w;
  w.add("general.architecture", GgufValue::str("qwen2"));
  w.add("qwen2.block_count", GgufValue::u32(1));
  EXPECT_GGUF_ERROR(w.to_bytes(), "missing 'qwen2.embedding_length'");
  // Mistyped key.
  GgufWriter w2;
  w2.add("general.architecture", GgufValue::str("qwen2"));
  w2.add("qwen2.block_count", GgufValue::str("one"));
  EXPECT_GGUF_ERROR(w2.to_bytes(), "qwen2.block_count");
  GgufWriter w3;
  w3.add("general.architecture", GgufValue::u32(2));
  EXPECT_GGUF_ERROR(w3.to_bytes(), "general.architecture must be a string");
  GgufWriter w4;
  w4.add("general.name", GgufValue::str("x"));
  EXPECT_GGUF_ERROR(w4.to_bytes(), "no general.architecture");
  // Stacked experts must be 3-D: the real deepseek2 fixture with one of them flattened.
  const std::string path = test::gguf_fixture("gguf_deepseek2_split.gguf");
  const auto bytes = test::read_bytes(path);
  const GgufFile f = parse_gguf(bytes.data(), bytes.size(), path);
  GgufWriter w5;
  for (const auto& [k, v] : f.kv) w5.add(k, v);
  for (const GgufTensorInfo& t : f.tensors) {
    auto shape = t.shape();
    if (t.name == "blk.0.ffn_up_exps.weight") shape = {shape[0] * shape[1], shape[2]};
    w5.add_tensor(t.name, t.dtype, shape, bytes.data() + f.data_offset + t.offset);
  }
  EXPECT_GGUF_ERROR(w5.to_bytes(), "expert tensor 'blk.0.ffn_up_exps.weight' has shape [128, 32]");
}

TEST(GgufErrors, MissingFile) {
  try {
    load_gguf("/nonexistent/model.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

}  // namespace
}  // namespace sputnik
