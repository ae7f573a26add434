// load_weights() routing: folders and .safetensors files go to the HF loader, GGUF files (by
// extension or by magic) to the GGUF reader, with the same progress/prefetch behaviour.
#include "formats/loader.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "hf_test_util.h"

using namespace sputnik;
using namespace sputnik::testing;
namespace fs = std::filesystem;

namespace {
const std::string kQwenGguf = std::string(SPUTNIK_SOURCE_DIR) + "/tests/formats/data/gguf_qwen2.gguf";
}

TEST(Loader, RoutesGgufByExtensionWithProgress) {
  auto direct = load_gguf(kQwenGguf);
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  LoadOptions opt;
  opt.prefetch = true;
  opt.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  auto store = load_weights(kQwenGguf, opt);
  ASSERT_GT(store->size(), 0u);
  EXPECT_EQ(store->names(), direct->names());
  EXPECT_EQ(store->config, direct->config);
  uint64_t total = 0;
  for (const auto& n : store->names()) {
    total += store->get(n).nbytes;
    EXPECT_EQ(store->get(n).shape, direct->get(n).shape) << n;
  }
  ASSERT_EQ(calls.size(), store->size() + 1);
  EXPECT_EQ(calls.front(), std::make_pair(uint64_t(0), total));
  EXPECT_EQ(calls.back(), std::make_pair(total, total));
}

TEST(Loader, SniffsGgufMagicWithoutExtension) {
  TempDir dir("loader_sniff");
  fs::copy_file(kQwenGguf, dir.path / "model.bin");
  auto store = load_weights((dir.path / "model.bin").string());
  EXPECT_EQ(store->names(), load_gguf(kQwenGguf)->names());
  write_file(dir.path / "other.bin", "not a model");
  try {
    load_weights((dir.path / "other.bin").string());
    FAIL() << "loaded a non-model file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other.bin"), std::string::npos) << e.what();
  }
  // A truncated GGUF is the GGUF reader's error, still naming the file.
  std::string bytes(200, '\0');
  std::memcpy(bytes.data(), "GGUF", 4);
  write_file(dir.path / "cut.gguf", bytes);
  try {
    load_weights((dir.path / "cut.gguf").string());
    FAIL() << "loaded a truncated GGUF";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.gguf"), std::string::npos) << e.what();
  }
}
