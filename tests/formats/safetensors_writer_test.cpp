#include "formats/safetensors_writer.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/safetensors.h"

namespace sputnik {
namespace {

TEST(SafetensorsWriter, RoundTripsThroughTheParser) {
  std::string path = (std::filesystem::temp_directory_path() / "sputnik_writer_test.safetensors").string();
  std::vector<float> a = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, 7.0f};
  std::vector<float> b = {0.5f, 1.5f, -1.0f};
  SafetensorsWriter w;
  w.add_f32("layer.a", {2, 3}, a.data());
  w.add_f32("layer.b", {3}, b.data(), DType::BF16);
  w.set_metadata("format", "pt");
  w.write(path);

  auto file = MappedFile::open(path);
  SafetensorsFile st = parse_safetensors(*file);
  ASSERT_EQ(st.tensors.size(), 2u);
  EXPECT_EQ(st.metadata.at("format"), "pt");
  const TensorView& ta = st.tensors[0];
  EXPECT_EQ(ta.name, "layer.a");
  EXPECT_EQ(ta.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(st.data_start % 8, 0u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(reinterpret_cast<const float*>(ta.data)[i], a[i]);
  const TensorView& tb = st.tensors[1];
  EXPECT_EQ(tb.dtype, DType::BF16);
  for (size_t i = 0; i < b.size(); ++i) EXPECT_EQ(bf16_to_f32(reinterpret_cast<const uint16_t*>(tb.data)[i]), b[i]);
  std::remove(path.c_str());
}

TEST(SafetensorsWriter, RejectsBadInput) {
  SafetensorsWriter w;
  float x[4] = {};
  EXPECT_THROW(w.add("x", DType::F32, {2, 3}, x, sizeof x), Error);  // shape says 24 bytes
  w.add("x", DType::F32, {4}, x, sizeof x);
  EXPECT_THROW(w.add("x", DType::F32, {4}, x, sizeof x), Error);  // duplicate name
  EXPECT_THROW(w.write("/nonexistent-dir/x.safetensors"), Error);
}

}  // namespace
}  // namespace sputnik
