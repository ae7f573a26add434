#include "formats/hf_folder.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "formats/loader.h"
#include "hf_test_util.h"

using namespace sputnik;
using namespace sputnik::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::vector<float> ramp(size_t n, float start) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = start + 0.25f * float(i);
  return v;
}

void write_config(const fs::path& dir, json extra = json::object()) {
  json c = {{"model_type", "qwen2"}, {"hidden_size", 4}};
  c.update(extra);
  write_file(dir / "config.json", c.dump());
}

// Runs `fn`, which must throw Error whose message contains every one of `parts`.
template <typename Fn>
void expect_error(Fn&& fn, std::vector<std::string> parts) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning " << parts.at(0);
  } catch (const Error& e) {
    for (const auto& p : parts)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << "'" << p << "' not in: " << e.what();
  }
}

float f32_at(const TensorView& t, int64_t i) {
  float f;
  std::memcpy(&f, t.data + 4 * i, 4);
  return f;
}

}  // namespace

TEST(HfFolder, LoadsSingleFileFolder) {
  TempDir dir("hf_single");
  write_config(dir.path);
  const auto w = ramp(6, -1.0f);
  std::vector<uint16_t> h = {0x3c00, 0xc000, 0x7bff};     // f16 1, -2, 65504
  std::vector<uint16_t> b = {0x3f80, 0x4049};             // bf16 1, 3.140625
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"a.weight", "F32", {2, 3}, bytes_of(w)},
                                {"b.weight", "F16", {3}, bytes_of(h)},
                                {"c.weight", "BF16", {1, 2}, bytes_of(b)}}));
  auto store = load_weights(dir.str());
  EXPECT_EQ(store->source, dir.str());
  EXPECT_EQ(store->config["model_type"], "qwen2");
  EXPECT_EQ(store->config["hidden_size"], 4);
  EXPECT_EQ(store->size(), 3u);
  ASSERT_EQ(store->files().size(), 1u);
  const TensorView& a = store->get("a.weight", {2, 3});
  EXPECT_EQ(a.dtype, DType::F32);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f32_at(a, i), w[i]);
  // Pass-through views point into the mapping, not a copy.
  const auto* map = store->files()[0].get();
  EXPECT_GE(a.data, map->data());
  EXPECT_LT(a.data, map->data() + map->size());
  const TensorView& bt = store->get("b.weight");
  EXPECT_EQ(bt.dtype, DType::F16);
  uint16_t h2;
  std::memcpy(&h2, bt.data + 4, 2);
  EXPECT_EQ(f16_to_f32(h2), 65504.0f);
  const TensorView& ct = store->get("c.weight");
  EXPECT_EQ(ct.dtype, DType::BF16);
  EXPECT_EQ(ct.shape, (std::vector<int64_t>{1, 2}));
  std::memcpy(&h2, ct.data + 2, 2);
  EXPECT_EQ(bf16_to_f32(h2), 3.140625f);
  // The same file opened directly (config.json read from its folder).
  auto direct = load_weights((dir.path / "model.safetensors").string());
  EXPECT_EQ(direct->size(), 3u);
  EXPECT_EQ(direct->config["model_type"], "qwen2");
}

TEST(HfFolder, LoadsShardedFolderAndReportsProgress) {
  TempDir dir("hf_sharded");
  write_config(dir.path);
  const auto w1 = ramp(8, 0.0f), w2 = ramp(4, 10.0f), w3 = ramp(2, 20.0f);
  write_file(dir.path / "model-00001-of-00002.safetensors",
             safetensors_bytes({{"layers.0.w", "F32", {2, 4}, bytes_of(w1)},
                                {"layers.0.b", "F32", {2}, bytes_of(w3)}}));
  write_file(dir.path / "model-00002-of-00002.safetensors",
             safetensors_bytes({{"layers.1.w", "F32", {4}, bytes_of(w2)}}));
  json index = {{"metadata", {{"total_size", 56}}},
                {"weight_map",
                 {{"layers.0.w", "model-00001-of-00002.safetensors"},
                  {"layers.0.b", "model-00001-of-00002.safetensors"},
                  {"layers.1.w", "model-00002-of-00002.safetensors"}}}};
  write_file(dir.path / "model.safetensors.index.json", index.dump());
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  LoadOptions opt;
  opt.prefetch = true;
  opt.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  auto store = load_weights(dir.str(), opt);
  EXPECT_EQ(store->size(), 3u);
  EXPECT_EQ(store->files().size(), 2u);
  EXPECT_EQ(f32_at(store->get("layers.1.w", {4}), 3), 10.75f);
  EXPECT_EQ(f32_at(store->get("layers.0.w", {2, 4}), 7), 1.75f);
  EXPECT_EQ(f32_at(store->get("layers.0.b", {2}), 1), 20.25f);
  ASSERT_GE(calls.size(), 2u);
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(calls[i].second, 56u);
    if (i) {
      EXPECT_GE(calls[i].first, calls[i - 1].first);
    }
  }
  EXPECT_EQ(calls.front().first, 0u);
  EXPECT_EQ(calls.back().first, 56u);
}

TEST(HfFolder, DequantizesFp8BlocksWithPartialEdges) {
  // 5 x 7 weight with 2 x 3 blocks -> 3 x 3 scales, last row and column of blocks partial.
  TempDir dir("hf_fp8");
  write_config(dir.path, {{"quantization_config",
                           {{"quant_method", "fp8"}, {"weight_block_size", {2, 3}}}}});
  std::vector<uint8_t> w(35);
  for (size_t i = 0; i < w.size(); ++i) w[i] = uint8_t((i * 37 + 11) & 0x7e);  // no NaN codes
  std::vector<float> s = {1.0f, 2.0f, 0.5f, -1.0f, 4.0f, 0.125f, 3.0f, 8.0f, 0.25f};
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"m.weight", "F8_E4M3", {5, 7}, w},
                                {"m.weight_scale_inv", "F32", {3, 3}, bytes_of(s)},
                                {"norm.weight", "F32", {2}, bytes_of(ramp(2, 1.0f))}}));
  for (DType out : {DType::F32, DType::BF16}) {
    LoadOptions opt;
    opt.fp8_dtype = out;
    auto store = load_weights(dir.str(), opt);
    EXPECT_FALSE(store->contains("m.weight_scale_inv"));
    EXPECT_EQ(store->size(), 2u);
    const TensorView& t = store->get("m.weight", {5, 7});
    ASSERT_EQ(t.dtype, out);
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 7; ++c) {
        // E4M3 by hand: sign, 4-bit exponent (bias 7), 3-bit mantissa; here sign is always 0.
        const uint8_t v = w[r * 7 + c];
        const int e = (v >> 3) & 15, m = v & 7;
        const float x = e == 0 ? std::ldexp(float(m), -9) : std::ldexp(1.0f + m / 8.0f, e - 7);
        const float want = x * s[(r / 2) * 3 + c / 3];
        float got;
        if (out == DType::F32) {
          got = f32_at(t, r * 7 + c);
          EXPECT_EQ(got, want) << r << "," << c;
        } else {
          uint16_t h;
          std::memcpy(&h, t.data + 2 * (r * 7 + c), 2);
          got = bf16_to_f32(h);
          EXPECT_NEAR(got, want, std::fabs(want) / 128) << r << "," << c;
        }
      }
  }
}

TEST(HfFolder, MissingFilesAreClearErrors) {
  TempDir dir("hf_missing");
  expect_error([&] { load_weights((dir.path / "nope").string()); }, {"nope", "no such"});
  expect_error([&] { load_weights(dir.str()); }, {dir.str(), "model.safetensors"});
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"w", "F32", {1}, bytes_of(ramp(1, 0))}}));
  expect_error([&] { load_weights(dir.str()); }, {dir.str(), "config.json"});
  write_file(dir.path / "config.json", "{\"hidden_size\": 4}");
  expect_error([&] { load_weights(dir.str()); }, {"config.json", "model_type"});
  write_file(dir.path / "config.json", "{\"model_type\": ");
  expect_error([&] { load_weights(dir.str()); }, {"config.json", "JSON"});
  write_config(dir.path, {{"quantization_config", {{"weight_block_size", {0, 128}}}}});
  expect_error([&] { load_weights(dir.str()); }, {"config.json", "weight_block_size"});
  write_config(dir.path, {{"quantization_config", {{"quant_method", "awq"}, {"bits", 4}}}});
  expect_error([&] { load_weights(dir.str()); }, {"config.json", "\"awq\"", "not supported"});
  write_file(dir.path / "weights.bin", "x");
  expect_error([&] { load_weights((dir.path / "weights.bin").string()); }, {"weights.bin"});
}

TEST(HfFolder, BrokenShardsAreClearErrors) {
  TempDir dir("hf_badshard");
  write_config(dir.path);
  const std::string shard = "model-00001-of-00002.safetensors";
  write_file(dir.path / shard, safetensors_bytes({{"a", "F32", {1}, bytes_of(ramp(1, 0))}}));
  auto index = [&](json map) {
    write_file(dir.path / "model.safetensors.index.json", json{{"weight_map", map}}.dump());
  };
  index({{"a", shard}, {"b", "model-00002-of-00002.safetensors"}});
  expect_error([&] { load_weights(dir.str()); }, {"model-00002-of-00002.safetensors", "missing"});
  index({{"a", shard}, {"zzz", shard}});
  expect_error([&] { load_weights(dir.str()); }, {"zzz", shard});
  index({{"a", "../evil.safetensors"}});
  expect_error([&] { load_weights(dir.str()); }, {"../evil.safetensors"});
  write_file(dir.path / "model.safetensors.index.json", "{\"metadata\": {}}");
  expect_error([&] { load_weights(dir.str()); }, {"model.safetensors.index.json", "weight_map"});
  // The same tensor in two shards.
  write_file(dir.path / "two.safetensors", safetensors_bytes({{"a", "F32", {1}, bytes_of(ramp(1, 0))},
                                                              {"b", "F32", {1}, bytes_of(ramp(1, 0))}}));
  index({{"a", shard}, {"b", "two.safetensors"}});
  expect_error([&] { load_weights(dir.str()); }, {"'a'", "two.safetensors"});
  // A truncated shard names itself.
  std::string good = safetensors_bytes({{"a", "F32", {4}, bytes_of(ramp(4, 0))}});
  write_file(dir.path / shard, good.substr(0, good.size() - 3));
  index({{"a", shard}});
  expect_error([&] { load_weights(dir.str()); }, {shard, "past the end"});
}

TEST(HfFolder, BrokenFp8PairsAreClearErrors) {
  TempDir dir("hf_badfp8");
  write_config(dir.path);
  std::vector<uint8_t> w(300 * 130, 0x38);  // 1.0
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"q.weight", "F8_E4M3", {300, 130}, w}}));
  expect_error([&] { load_weights(dir.str()); }, {"model.safetensors", "q.weight_scale_inv"});
  // Default 128x128 blocks: 300 x 130 needs 3 x 2 scales.
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"q.weight", "F8_E4M3", {300, 130}, w},
                                {"q.weight_scale_inv", "F32", {2, 2}, bytes_of(ramp(4, 1))}}));
  expect_error([&] { load_weights(dir.str()); }, {"model.safetensors", "[3, 2]"});
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"q.weight", "F8_E4M3", {300, 130}, w},
                                {"q.weight_scale_inv", "F32", {3, 2}, bytes_of(ramp(6, 1))}}));
  auto store = load_weights(dir.str());
  const TensorView& q = store->get("q.weight", {300, 130});
  EXPECT_EQ(f32_at(q, 0), 1.0f);                 // block (0,0) scale 1
  EXPECT_EQ(f32_at(q, 129), 1.25f);              // block (0,1) scale 1.25
  EXPECT_EQ(f32_at(q, 299 * 130 + 129), 2.25f);  // block (2,1) scale 2.25
  LoadOptions opt;
  opt.fp8_dtype = DType::F16;
  expect_error([&] { load_weights(dir.str(), opt); }, {"F16"});
}

TEST(HfFolder, MisalignedDataIsCopiedNotHandedOut) {
  // A hand-made header whose length is not a multiple of 4 puts F32 data off alignment.
  TempDir dir("hf_align");
  write_config(dir.path);
  const auto v = ramp(3, 5.0f);
  json header = {{"w", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 12}}}}};
  std::string h = header.dump();
  if (h.size() % 4 == 0) h += " ";
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = char((uint64_t(h.size()) >> (8 * i)) & 0xff);
  file += h;
  file.append(reinterpret_cast<const char*>(v.data()), 12);
  write_file(dir.path / "model.safetensors", file);
  auto store = load_weights(dir.str());
  const TensorView& w = store->get("w");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data) % 4, 0u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f32_at(w, i), v[i]);
}

TEST(HfFolder, Fp8DecodesEveryByteValue) {
  // All 256 codes, scale 1: matches the E4M3FN definition (bias 7, subnormals, NaN at 0x7f/0xff).
  TempDir dir("hf_fp8_all");
  write_config(dir.path);
  std::vector<uint8_t> w(256);
  for (int i = 0; i < 256; ++i) w[i] = uint8_t(i);
  write_file(dir.path / "model.safetensors",
             safetensors_bytes({{"w", "F8_E4M3", {2, 128}, w},
                                {"w_scale_inv", "F32", {1, 1}, bytes_of(std::vector<float>{1.0f})}}));
  for (DType out : {DType::F32, DType::BF16}) {
    LoadOptions opt;
    opt.fp8_dtype = out;
    auto store = load_weights(dir.str(), opt);
    const TensorView& t = store->get("w", {2, 128});
    for (int i = 0; i < 256; ++i) {
      const int e = (i >> 3) & 15, m = i & 7;
      float got;
      if (out == DType::F32) {
        got = f32_at(t, i);
      } else {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        got = bf16_to_f32(h);  // every E4M3 value is exact in bf16 (3 mantissa bits)
      }
      if ((i & 0x7f) == 0x7f) {
        EXPECT_TRUE(std::isnan(got)) << i;
        continue;
      }
      const float mag = e == 0 ? std::ldexp(float(m), -9) : std::ldexp(1.0f + m / 8.0f, e - 7);
      EXPECT_EQ(got, (i & 0x80) ? -mag : mag) << "code " << i;
      EXPECT_EQ(std::signbit(got), bool(i & 0x80)) << "code " << i;
    }
  }
}

TEST(HfFolder, FollowsHuggingFaceCacheSymlinks) {
  // huggingface_hub snapshots are folders of symlinks into blobs/ with hash names.
  TempDir dir("hf_cache");
  fs::create_directories(dir.path / "blobs");
  fs::create_directories(dir.path / "snapshots" / "abc123");
  write_file(dir.path / "blobs" / "1111", json{{"model_type", "qwen2"}}.dump());
  write_file(dir.path / "blobs" / "2222",
             safetensors_bytes({{"w", "F32", {2}, bytes_of(ramp(2, 4.0f))}}));
  fs::create_symlink("../../blobs/1111", dir.path / "snapshots" / "abc123" / "config.json");
  fs::create_symlink("../../blobs/2222", dir.path / "snapshots" / "abc123" / "model.safetensors");
  auto store = load_weights((dir.path / "snapshots" / "abc123").string());
  EXPECT_EQ(f32_at(store->get("w", {2}), 1), 4.25f);
}
