// What a decode step reads (models/decode_bytes.h, the numerator of `sputnik bench`'s GB/s),
// and MLA's W_UK^T kept as Q8_0 when kv_b_proj is quantized: logits stay within Q8_0 rounding
// of the same weights in f32, and the bytes counted follow the type actually kept.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "models/decode_bytes.h"
#include "models/model.h"
#include "tiny_model.h"

using namespace sputnik;

namespace {

std::shared_ptr<WeightStore> tiny_store(const nlohmann::json& config, unsigned seed = 1) {
  auto ws = std::make_shared<WeightStore>();
  test::make_tiny(*ws, config, seed);
  return ws;
}

// A copy of `src` whose kv_b_proj matrices are stored as `type`: quantized from the f32 ones
// when `type` is Q8_0, or, for F32, the dequantized values of that Q8_0 (so both stores hold
// the very same weight values).
std::shared_ptr<WeightStore> with_kv_b(const WeightStore& src, DType type) {
  auto ws = std::make_shared<WeightStore>();
  ws->source = src.source;
  ws->config = src.config;
  for (const std::string& name : src.names()) {
    TensorView t = src.get(name);
    if (name.ends_with(".kv_b_proj.weight")) {
      const int64_t rows = t.rows(), cols = t.cols();
      const float* f = reinterpret_cast<const float*>(t.data);
      const size_t qrow = dtype_bytes(DType::Q8_0, cols);
      std::vector<std::byte> q(size_t(rows) * qrow);
      for (int64_t r = 0; r < rows; ++r) quantize_row(DType::Q8_0, f + r * cols, q.data() + size_t(r) * qrow, cols);
      t.dtype = type;
      t.nbytes = type == DType::Q8_0 ? q.size() : size_t(rows * cols) * 4;
      std::byte* dst = ws->allocate(t.nbytes);
      if (type == DType::Q8_0) {
        std::memcpy(dst, q.data(), q.size());
      } else {
        for (int64_t r = 0; r < rows; ++r)
          dequantize_row(DType::Q8_0, q.data() + size_t(r) * qrow, reinterpret_cast<float*>(dst) + r * cols, cols);
      }
      t.data = dst;
    } else {
      std::byte* dst = ws->allocate(t.nbytes);  // the copy owns its bytes: `src` may go first
      std::memcpy(dst, t.data, t.nbytes);
      t.data = dst;
    }
    ws->add(t);
  }
  return ws;
}

std::vector<float> logits(Model& m, const std::vector<int32_t>& toks) {
  KVCache cache = m.make_cache(1, 0);
  std::vector<float> out(toks.size() * size_t(m.config().vocab_size));
  Batch b;
  for (size_t p = 0; p < toks.size(); ++p) b.add(toks[p], 0, int64_t(p), true);
  m.forward(b, cache, out.data());
  return out;
}

double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return diff / scale;
}

int64_t bytes_of(const WeightStore& ws, const std::string& part) {
  int64_t n = 0;
  for (const std::string& name : ws.names())
    if (name.find(part) != std::string::npos) n += int64_t(ws.get(name).nbytes);
  return n;
}

TEST(DecodeBytes, TiedEmbeddingIsReadWhole) {
  auto m = load_model(tiny_store(test::qwen2_config()));
  EXPECT_EQ(decode_weight_bytes(*m), double(m->stats().weight_bytes));
}

TEST(DecodeBytes, UntiedEmbeddingReadsOneRow) {
  nlohmann::json c = test::qwen2_config();
  c["tie_word_embeddings"] = false;
  auto m = load_model(tiny_store(c));
  const double embed = 50 * 32 * 4;  // vocab x hidden f32
  EXPECT_DOUBLE_EQ(decode_weight_bytes(*m), double(m->stats().weight_bytes) - embed + embed / 50);
}

TEST(DecodeBytes, MoeCountsTopKOfTheRoutedExperts) {
  auto m = load_model(tiny_store(test::deepseek_config()));
  // One MoE layer of 4 experts [3 matrices of 16x32 f32], top-2; untied embedding: one row.
  const double routed = 4 * 3 * 16 * 32 * 4, embed = 50 * 32 * 4;
  EXPECT_EQ(bytes_of(m->weights(), ".mlp.experts."), int64_t(routed));
  EXPECT_DOUBLE_EQ(decode_weight_bytes(*m), double(m->stats().weight_bytes) - routed / 2 - embed + embed / 50);
}

nlohmann::json mla_config(int64_t nope) {
  nlohmann::json c = test::deepseek_config();
  c["kv_lora_rank"] = 32;  // kv_b_proj rows must be whole Q8_0 blocks
  c["qk_nope_head_dim"] = nope;
  return c;
}

TEST(DecodeBytes, QuantizedKvbKeepsWukTransposedAsQ8_0) {
  const nlohmann::json c = mla_config(32);
  auto base = tiny_store(c, 3);
  auto q = load_model(with_kv_b(*base, DType::Q8_0));
  auto f = load_model(with_kv_b(*base, DType::F32));
  const std::vector<int32_t> toks = {1, 7, 3, 9, 4, 2};
  const auto lq = logits(*q, toks), lf = logits(*f, toks);
  // Same weight values; the Q8_0 model quantizes W_UV's inputs to q8 (as every quantized
  // matmul does: ~4e-3 here, see the f32 fallback test) and re-quantizes W_UK^T to Q8_0
  // (<= 1/254 of each 32-block's max per weight). These tiny random models amplify both.
  const double rel = max_rel(lq, lf);
  EXPECT_LT(rel, 3e-2);
  EXPECT_GT(rel, 0.0);  // it is really re-quantized, not kept in f32
  auto other = load_model(with_kv_b(*tiny_store(c, 4), DType::Q8_0));
  EXPECT_GT(max_rel(logits(*other, toks), lf), 1e-1);

  // Bytes: kv_b's W_UV rows (8 of each head's 32 + 8) as stored plus W_UK^T [heads][32 x 32] in Q8_0.
  const double kvb = double(bytes_of(q->weights(), ".kv_b_proj."));
  const double wuk = 2 /*layers*/ * 4 /*heads*/ * 32 /*lora*/ * double(dtype_bytes(DType::Q8_0, 32));
  const double rest = double(q->stats().weight_bytes) - kvb;
  const double routed = 4 * 3 * 16 * 32 * 4, embed = 50 * 32 * 4;
  EXPECT_DOUBLE_EQ(decode_weight_bytes(*q), rest - routed / 2 - embed + embed / 50 + kvb * 8 / 40 + wuk);
}

TEST(DecodeBytes, KvbRowsNotInQ8BlocksFallBackToF32) {
  // qk_nope_head_dim 16 is no whole Q8_0 block: W_UK^T stays f32; what is left of the
  // difference is W_UV's q8 inputs.
  const nlohmann::json c = mla_config(16);
  auto base = tiny_store(c, 5);
  auto q = load_model(with_kv_b(*base, DType::Q8_0));
  auto f = load_model(with_kv_b(*base, DType::F32));
  const std::vector<int32_t> toks = {4, 8, 15, 16, 23, 42};
  EXPECT_LT(max_rel(logits(*q, toks), logits(*f, toks)), 1e-2);
  const double kvb = double(bytes_of(q->weights(), ".kv_b_proj."));
  const double wuk = 2 * 4 * 32 * 16 * 4.0;
  const double rest = double(q->stats().weight_bytes) - kvb;
  const double routed = 4 * 3 * 16 * 32 * 4, embed = 50 * 32 * 4;
  EXPECT_DOUBLE_EQ(decode_weight_bytes(*q), rest - routed / 2 - embed + embed / 50 + kvb * 8 / 24 + wuk);
}

}  // namespace
