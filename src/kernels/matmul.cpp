// matmul(): picks the integer GEMM (quantized weights), the float row-dot kernels (float
// weights, small n) or OpenBLAS sgemm on converted row blocks (float weights, larger n; also
// exact mode), and the ISA path.
#include "kernels/matmul.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/threads.h"
#include "kernels/fdot.h"
#include "kernels/qgemm.h"
#include "kernels/qgemm_group.h"
#include "kernels/quant.h"
#include "kernels/split_rows.h"
#include "kernels/tiles.h"

namespace sputnik {
namespace {

std::atomic<bool> g_exact{false};

// Below this many activation rows, streaming each weight row once past all of them beats
// packing for sgemm.
constexpr int64_t kSmallN = 8;

void check_shapes(const TensorView& w) {
  // Rank > 2 (e.g. one expert sliced from a stacked [experts, out, in] tensor) is rows × cols.
  if (w.shape.size() < 2) fail("matmul: tensor '{}' has shape {}, expected a weight matrix", w.name, w.shape_string());
  if (w.data == nullptr && w.numel() > 0) fail("matmul: tensor '{}' has no data", w.name);
  if (!can_dequantize(w.dtype)) fail("matmul: tensor '{}' has dtype {}, which has no kernel", w.name, dtype_name(w.dtype));
  if (w.nbytes < dtype_bytes(w.dtype, w.numel()))
    fail("matmul: tensor '{}' holds {} bytes, {} {} needs {}", w.name, w.nbytes, w.shape_string(),
         dtype_name(w.dtype), dtype_bytes(w.dtype, w.numel()));
}

void matmul_quantized(const TensorView& w, const float* x, int64_t n, float* y) {
  const int64_t out = w.rows(), k = w.cols();
  const Isa isa = active_isa();
  // Reused across calls (no allocation per token). Workers must see the caller's copy, so the
  // lambda below captures this reference, never the thread_local by name.
  static thread_local qg::Acts acts_storage;
  qg::Acts& acts = acts_storage;
  qg::quantize_acts(x, n, k, acts, qg::gemv_reads_tiles_only(w, n) ? qg::ActForms::Tiles : qg::ActForms::All);
  auto kernel = isa == Isa::Avx2 ? qg::dot_rows_avx2 : qg::dot_rows_scalar;
  if (isa == Isa::Avx512 && n <= qg::kMaxFusedN) {
    // Chunks handed out as they are claimed (split_rows) so that a core slowed by its
    // neighbours does not hold the other back. gemv_applies is checked first so that every
    // chunk's gemv_avx512 runs (in a team, all ranks must take the same path).
    const int64_t step = qg::decode_chunk_rows(int64_t(w.nbytes), int64_t(w.row_bytes()));
    if (qg::gemv_applies(w, n)) {
      split_rows((out + step - 1) / step, n, out, y, [&](int64_t c, float* dst) {
        SPUTNIK_CHECK(qg::gemv_avx512(w, c * step, std::min(out, (c + 1) * step), acts, dst, out));
      });
      return;
    }
  }
  const int64_t block = qg::prefill_block_rows(out, k);
  if (isa == Isa::Avx512) {
    // Prefill: the group-major layout (qgemm_group.h).
    static thread_local qg::GroupActs gacts_storage;
    qg::GroupActs& gacts = gacts_storage;
    qg::to_group_acts(acts, gacts);
    // One chunk per block of rows, handed out by parallel_chunks: a static split left one
    // thread waiting for the other for ~8% of a prefill on this shared machine.
    const qg::RowBlocks blocks = qg::prefill_blocks(w);
    split_rows(blocks.count, n, out, y, [&](int64_t c, float* dst) {
      const int64_t r = blocks.begin(c);
      qg::prefill_block_avx512(w, r, blocks.size(c), gacts, dst + r, out);
    });
    return;
  }
  split_rows((out + block - 1) / block, n, out, y, [&](int64_t c, float* dst) {
    static thread_local qg::Rows rows;
    const int64_t r = c * block, count = std::min(block, out - r);
    qg::unpack_rows(w, r, count, /*offset128=*/false, rows);  // AVX2/scalar kernels take q as is
    kernel(rows, acts, dst + r, out);
  });
}

// Float weights (or dequantized ones), few activation rows: one pass over W.
void matmul_rows(const TensorView& w, const float* x, int64_t n, float* y) {
  const int64_t out = w.rows(), k = w.cols();
  const Isa isa = active_isa();
  auto kernel = isa == Isa::Avx512 ? fd::row_dot_avx512 : isa == Isa::Avx2 ? fd::row_dot_avx2 : fd::row_dot_scalar;
  const bool plain = w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16;
  // Chunks of whole 16-row groups (the cache lines of y), ~64 KiB of weights each.
  const int64_t step = qg::decode_chunk_rows(int64_t(w.nbytes), std::max<int64_t>(int64_t(w.nbytes) / out, 1));
  split_rows((out + step - 1) / step, n, out, y, [&](int64_t c, float* dst) {
    static thread_local std::vector<float> buf;
    static thread_local std::vector<std::byte> untiled;
    if (!plain) buf.resize(size_t(k));
    for (int64_t o = c * step; o < std::min(out, (c + 1) * step); ++o) {
      if (plain) {
        kernel(w.dtype, w.row(o), k, x, n, dst + o, out);
      } else {
        dequantize_row(w.dtype, stored_row(w, o, untiled), buf.data(), k);
        kernel(DType::F32, buf.data(), k, x, n, dst + o, out);
      }
    }
  });
}

// Float weights (or dequantized ones), many activation rows: sgemm on blocks of f32 rows.
void matmul_sgemm(const TensorView& w, const float* x, int64_t n, float* y) {
  const int64_t out = w.rows(), k = w.cols();
  if (w.dtype == DType::F32 && reinterpret_cast<uintptr_t>(w.data) % 4 == 0) {
    gemm_f32(false, true, n, out, k, 1.0f, x, k, reinterpret_cast<const float*>(w.data), k, 0.0f, y, out);
    return;
  }
  const int64_t block = std::clamp<int64_t>((8 << 20) / (4 * std::max<int64_t>(k, 1)), 64, 4096);
  std::vector<float> buf(size_t(std::min(block, out) * k));
  for (int64_t r = 0; r < out; r += block) {
    const int64_t count = std::min(block, out - r);
    parallel_for(count, 8, [&](int64_t b, int64_t e) {
      static thread_local std::vector<std::byte> untiled;
      for (int64_t i = b; i < e; ++i) dequantize_row(w.dtype, stored_row(w, r + i, untiled), buf.data() + i * k, k);
    });
    gemm_f32(false, true, n, count, k, 1.0f, x, k, buf.data(), k, 0.0f, y + r, out);
  }
}

// A matrix stored in column panels (TensorView::panels) at decode: each panel's product with its
// columns of x, summed in panel order, which is how a decode team's ranks sum the parts they
// computed (models/qwen2.cpp), so that a team decodes bit for bit what one thread does.
void matmul_panels(const TensorView& w, const float* x, int64_t n, float* y) {
  const int64_t out = w.rows(), k = w.cols(), part = k / w.panels;
  // Not a ScratchLease: callers hold theirs (one per thread) while they call matmul().
  static thread_local std::vector<float> xs_storage, ys_storage;
  static thread_local std::vector<TensorView> views;
  static thread_local std::vector<MatmulJob> jobs;
  xs_storage.resize(size_t(n * k));
  ys_storage.resize(size_t(n * out * (w.panels - 1)));
  views.resize(size_t(w.panels));
  jobs.resize(size_t(w.panels));
  // Each panel's columns into a copy of their own (inside a decode team x may be a staged result,
  // core/team.h, which the products' own staging overwrites), then all panels' products in one
  // parallel region, summed in panel order.
  for (int p = 0; p < w.panels; ++p) {
    float* xs = xs_storage.data() + p * n * part;
    for (int64_t t = 0; t < n; ++t) std::copy_n(x + t * k + p * part, part, xs + t * part);
    views[size_t(p)] = w.panel(p);
    jobs[size_t(p)] = {&views[size_t(p)], xs, n, p == 0 ? y : ys_storage.data() + (p - 1) * n * out};
  }
  matmul_many(jobs.data(), jobs.size());
  for (int p = 1; p < w.panels; ++p)
    for (int64_t i = 0; i < n * out; ++i) y[i] += jobs[size_t(p)].y[i];
}

}  // namespace

void set_matmul_exact(bool exact) { g_exact.store(exact, std::memory_order_relaxed); }
bool matmul_exact() { return g_exact.load(std::memory_order_relaxed); }

void dequantize_rows(const TensorView& w, int64_t row, int64_t count, float* out) {
  if (row < 0 || count < 0 || row + count > w.rows())
    fail("dequantize_rows: rows [{}, {}) out of range for tensor '{}' of shape {}", row, row + count, w.name,
         w.shape_string());
  if (!can_dequantize(w.dtype))
    fail("tensor '{}': dtype {} not supported by dequantize_rows", w.name, dtype_name(w.dtype));
  const int64_t cols = w.cols();
  std::vector<std::byte> untiled;
  for (int64_t r = 0; r < count; ++r) dequantize_row(w.dtype, stored_row(w, row + r, untiled), out + r * cols, cols);
}

void matmul(const TensorView& w, const float* x, int64_t n, float* y) {
  check_shapes(w);
  if (n <= 0 || w.rows() == 0) return;
  // Decode on the fused kernels takes column panels apart; a prefill GEMM and the other paths
  // read their rows whole (untiled, kernels/tiles.h), as fast as from the stored layout. Row
  // panels are rows like any other, read panel by panel by the kernels below.
  if (w.column_panels() && n <= qg::kMaxFusedN && !matmul_exact()) return matmul_panels(w, x, n, y);
  if (w.cols() == 0) {
    std::fill(y, y + n * w.rows(), 0.0f);
    return;
  }
  if (qg::can_unpack(w.dtype) && !matmul_exact()) return matmul_quantized(w, x, n, y);
  if (n <= kSmallN) return matmul_rows(w, x, n, y);
  matmul_sgemm(w, x, n, y);
}

}  // namespace sputnik
