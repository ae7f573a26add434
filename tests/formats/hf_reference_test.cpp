// Checks the loader against an independent writer and FP8 decoder (tests/formats/hf_reference.py:
// Python + numpy + PyTorch), so the parser and the dequantizer are not checking themselves.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "formats/loader.h"
#include "hf_test_util.h"

using namespace sputnik;
using namespace sputnik::testing;
namespace fs = std::filesystem;

namespace {

template <typename T>
std::vector<T> read_raw(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f.good()) << p;
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<T> out(bytes.size() / sizeof(T));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
  return out;
}

float value_at(const TensorView& t, int64_t i) {
  uint16_t h;
  switch (t.dtype) {
    case DType::F32: {
      float f;
      std::memcpy(&f, t.data + 4 * i, 4);
      return f;
    }
    case DType::F16: std::memcpy(&h, t.data + 2 * i, 2); return f16_to_f32(h);
    case DType::BF16: std::memcpy(&h, t.data + 2 * i, 2); return bf16_to_f32(h);
    default: ADD_FAILURE() << "unexpected dtype " << dtype_name(t.dtype); return 0;
  }
}

class HfReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("hf_reference");
    const std::string cmd = std::string("/usr/bin/python3 ") + SPUTNIK_SOURCE_DIR +
                            "/tests/formats/hf_reference.py " + dir_->str();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream m(dir_->path / "manifest.json");
    manifest_ = nlohmann::json::parse(m);
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static nlohmann::json manifest_;
};
TempDir* HfReference::dir_ = nullptr;
nlohmann::json HfReference::manifest_;

}  // namespace

TEST_F(HfReference, EveryTensorMatchesPython) {
  auto store = load_weights(dir_->str());
  EXPECT_EQ(store->config["model_type"], "deepseek_v3");
  ASSERT_EQ(manifest_.size(), 6u);
  EXPECT_EQ(store->size(), manifest_.size());  // the three _scale_inv tensors are consumed
  for (const auto& [name, info] : manifest_.items()) {
    const std::vector<int64_t> shape = info["shape"].get<std::vector<int64_t>>();
    const TensorView& t = store->get(name, shape);
    const std::string stored = info["dtype"];
    EXPECT_EQ(dtype_name(t.dtype), stored == "F8_E4M3" ? "F32" : stored) << name;
    const auto want = read_raw<float>(dir_->path / "expected" / (name + ".f32"));
    ASSERT_EQ(int64_t(want.size()), t.numel()) << name;
    int64_t bad = 0;
    for (int64_t i = 0; i < t.numel(); ++i) bad += value_at(t, i) != want[i];
    EXPECT_EQ(bad, 0) << name << ": " << bad << " of " << t.numel() << " values differ";
  }
}

TEST_F(HfReference, Fp8AsBf16MatchesTorchRounding) {
  LoadOptions opt;
  opt.fp8_dtype = DType::BF16;
  auto store = load_weights(dir_->str(), opt);
  int checked = 0;
  for (const auto& [name, info] : manifest_.items()) {
    if (info["dtype"] != "F8_E4M3") continue;
    const TensorView& t = store->get(name);
    ASSERT_EQ(t.dtype, DType::BF16);
    const auto want = read_raw<uint16_t>(dir_->path / "expected" / (name + ".bf16"));
    ASSERT_EQ(int64_t(want.size()), t.numel());
    EXPECT_EQ(std::memcmp(t.data, want.data(), t.nbytes), 0) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}
