// matmul_swiglu(): gate and up products of a SwiGLU MLP fused block by block (see matmul.h).
#include <algorithm>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/team.h"
#include "core/threads.h"
#include "kernels/activation.h"
#include "kernels/matmul.h"
#include "kernels/qgemm.h"
#include "kernels/qgemm_group.h"

namespace sputnik {
namespace {

bool fused_path(const TensorView& gate, const TensorView& up, int64_t n) {
  return active_isa() == Isa::Avx512 && !matmul_exact() && n > qg::kMaxFusedN && qg::can_unpack(gate.dtype) &&
         qg::can_unpack(up.dtype) && gate.cols() % 32 == 0 && gate.data != nullptr && up.data != nullptr &&
         gate.nbytes >= dtype_bytes(gate.dtype, gate.numel()) && up.nbytes >= dtype_bytes(up.dtype, up.numel());
}

}  // namespace

void matmul_swiglu(const TensorView& gate, const TensorView& up, const float* x, int64_t n, float* h) {
  if (gate.shape.size() < 2 || up.shape.size() < 2 || gate.rows() != up.rows() || gate.cols() != up.cols())
    fail("matmul_swiglu: gate '{}' {} and up '{}' {} differ in shape", gate.name, gate.shape_string(), up.name,
         up.shape_string());
  const int64_t out = gate.rows(), k = gate.cols();
  if (n <= 0 || out == 0) return;
  if (k != 0 && !matmul_exact() && qg::gemv_applies(gate, n) && qg::gemv_applies(up, n)) {
    // Decode: all of gate, then all of up, as chunks of one region (each thread's share is one
    // stream through adjacent memory: formats/decode_tiles.h lays gate and up out together), and
    // SwiGLU split over the same threads once both products are done.
    static thread_local qg::Acts acts_storage;
    static thread_local std::vector<float> up_storage;
    qg::Acts& acts = acts_storage;
    std::vector<float>& u = up_storage;
    u.resize(size_t(n * out));
    const bool tiles = qg::gemv_reads_tiles_only(gate, n) && qg::gemv_reads_tiles_only(up, n);
    qg::quantize_acts(x, n, k, acts, tiles ? qg::ActForms::Tiles : qg::ActForms::All);
    const int64_t step = qg::decode_chunk_rows(int64_t(gate.nbytes + up.nbytes), int64_t(gate.row_bytes()));
    const int64_t per_matrix = (out + step - 1) / step;
    if (in_team()) {
      // Decode team (core/team.h): gate and up into the stage, then every rank its own SwiGLU
      // of all rows (a few thousand values; a second split would cost another barrier).
      float* stage = team_stage(size_t(2 * n * out));
      team_chunks(2 * per_matrix, [&](int64_t c) {
        const bool is_up = c >= per_matrix;
        const int64_t r0 = (is_up ? c - per_matrix : c) * step, r1 = std::min(out, r0 + step);
        SPUTNIK_CHECK(qg::gemv_avx512(is_up ? up : gate, r0, r1, acts, stage + (is_up ? n * out : 0), out));
      });
      swiglu(stage, stage + n * out, n * out, h);
      return;
    }
    parallel_chunks_then(
        2 * per_matrix,
        [&](int64_t c) {
          const bool is_up = c >= per_matrix;
          const int64_t r0 = (is_up ? c - per_matrix : c) * step, r1 = std::min(out, r0 + step);
          SPUTNIK_CHECK(qg::gemv_avx512(is_up ? up : gate, r0, r1, acts, is_up ? u.data() : h, out));
        },
        [&](int t, int threads) {
          const int64_t r0 = out * t / threads, r1 = out * (t + 1) / threads;
          for (int64_t j = 0; j < n; ++j) swiglu(h + j * out + r0, u.data() + j * out + r0, r1 - r0, h + j * out + r0);
        });
    return;
  }
  if (k == 0 || !fused_path(gate, up, n)) {
    // Both products in one parallel region at decode (matmul_many), as the MLP did before.
    std::vector<float> u(size_t(n * out));
    const MatmulJob jobs[2] = {{&gate, x, n, h}, {&up, x, n, u.data()}};
    matmul_many(jobs, 2);
    swiglu(h, u.data(), n * out, h);
    return;
  }
  // Reused across calls; workers see the caller's copy through these references.
  static thread_local qg::Acts acts_storage;
  static thread_local qg::GroupActs gacts_storage;
  qg::Acts& acts = acts_storage;
  qg::GroupActs& gacts = gacts_storage;
  qg::quantize_acts(x, n, k, acts);
  qg::to_group_acts(acts, gacts);
  const qg::RowBlocks blocks = qg::prefill_blocks(gate);
  parallel_chunks(blocks.count, [&](int64_t c) {
    static thread_local std::vector<float> g_block, u_block;
    const int64_t r = blocks.begin(c), count = blocks.size(c);
    g_block.resize(size_t(n * count));
    u_block.resize(size_t(n * count));
    qg::prefill_block_avx512(gate, r, count, gacts, g_block.data(), count);
    qg::prefill_block_avx512(up, r, count, gacts, u_block.data(), count);
    for (int64_t t = 0; t < n; ++t)
      swiglu(g_block.data() + t * count, u_block.data() + t * count, count, h + t * out + r);
  });
}

}  // namespace sputnik
