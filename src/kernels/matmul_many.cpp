// matmul_many(): small products (decode: n ≤ 4 activation rows) cut into row chunks of similar
// byte size and spread over the threads as one parallel_for. The per-row kernels are the ones
// matmul() uses (fused quantized GEMV on AVX-512, float row dots), so every row comes out the
// same; anything else (larger n, exact mode, other paths) runs through matmul() afterwards.
#include <algorithm>
#include <vector>

#include "core/cpu.h"
#include "core/error.h"
#include "core/team.h"
#include "core/threads.h"
#include "kernels/fdot.h"
#include "kernels/matmul.h"
#include "kernels/qgemm.h"
#include "kernels/quant.h"

namespace sputnik {
namespace {

constexpr int64_t kSmallN = 8;  // as matmul(): float weights below this go row by row

enum class Path { Fused, FloatRows, Plain };

Path path_of(const MatmulJob& j) {
  const TensorView& w = *j.w;
  // Anything odd (including a tensor too short for its shape) goes to matmul(), which checks.
  if (j.n <= 0 || w.rows() == 0 || w.cols() == 0 || w.shape.size() < 2 || w.data == nullptr ||
      !can_dequantize(w.dtype) || w.nbytes < dtype_bytes(w.dtype, w.numel()) || w.column_panels())
    return Path::Plain;
  if (qg::can_unpack(w.dtype)) return !matmul_exact() && qg::gemv_applies(w, j.n) ? Path::Fused : Path::Plain;
  if ((w.dtype == DType::F32 || w.dtype == DType::F16 || w.dtype == DType::BF16) && j.n <= kSmallN)
    return Path::FloatRows;
  return Path::Plain;
}

using RowKernel = decltype(&fd::row_dot_scalar);

RowKernel row_kernel_for(Isa isa) {
  return isa == Isa::Avx512 ? fd::row_dot_avx512 : isa == Isa::Avx2 ? fd::row_dot_avx2 : fd::row_dot_scalar;
}

struct Chunk {
  int32_t job;
  int64_t r0, r1;
};

// Quantizes the inputs of the fused jobs into acts, on this thread. Jobs on the same input
// (q/k/v, gate/up, every expert of a decode token) share one quantization: act_of[i] is the
// index in acts of job i's (defined for fused jobs).
void quantize_inputs(const MatmulJob* jobs, size_t count, const std::vector<Path>& paths,
                     std::vector<size_t>& act_of, std::vector<qg::Acts>& acts) {
  if (acts.size() < count) acts.resize(count);
  act_of.resize(count);
  for (size_t i = 0; i < count; ++i) {
    if (paths[i] != Path::Fused) continue;
    act_of[i] = i;
    for (size_t j = 0; j < i; ++j)
      if (paths[j] == Path::Fused && jobs[j].x == jobs[i].x && jobs[j].n == jobs[i].n &&
          jobs[j].w->cols() == jobs[i].w->cols()) {
        act_of[i] = j;
        break;
      }
  }
  for (size_t i = 0; i < count; ++i) {
    if (paths[i] != Path::Fused || act_of[i] != i) continue;
    bool tiles_only = true;
    for (size_t j = i; j < count; ++j)
      if (paths[j] == Path::Fused && act_of[j] == i)
        tiles_only = tiles_only && qg::gemv_reads_tiles_only(*jobs[j].w, jobs[j].n);
    qg::quantize_acts(jobs[i].x, jobs[i].n, jobs[i].w->cols(), acts[i],
                      tiles_only ? qg::ActForms::Tiles : qg::ActForms::All);
  }
}

}  // namespace

void matmul_many(const MatmulJob* jobs, size_t count) {
  const Isa isa = active_isa();
  // Activations quantized once per input on this thread (while the others wait); reused
  // storage (no allocation per token). The workers below read this thread's copy through the
  // reference (naming the thread_local inside the lambda would give each worker its own).
  static thread_local std::vector<qg::Acts> acts_storage;
  std::vector<qg::Acts>& acts = acts_storage;
  std::vector<Path> paths(count);
  std::vector<size_t> act_of;
  int64_t bytes = 0;
  for (size_t i = 0; i < count; ++i) {
    paths[i] = path_of(jobs[i]);
    if (paths[i] != Path::Plain) bytes += int64_t(jobs[i].w->nbytes);
  }
  quantize_inputs(jobs, count, paths, act_of, acts);
  // Chunks sized on the whole batch's bytes (qg::decode_chunk_rows).
  std::vector<Chunk> chunks;
  for (size_t i = 0; i < count; ++i) {
    if (paths[i] == Path::Plain) continue;
    const TensorView& w = *jobs[i].w;
    const int64_t row_bytes = std::max<int64_t>(int64_t(w.nbytes) / w.rows(), 1);
    const int64_t step = qg::decode_chunk_rows(bytes, row_bytes);
    for (int64_t r = 0; r < w.rows(); r += step) chunks.push_back({int32_t(i), r, std::min(w.rows(), r + step)});
  }
  const RowKernel row_kernel = row_kernel_for(isa);
  // Inside a decode team (core/team.h) the chunks write into the team's stage, job after job,
  // and every rank copies all results out once the chunks are done.
  std::vector<float*> dst(count);
  std::vector<int64_t> stage_at(count, 0);
  int64_t staged = 0;
  for (size_t i = 0; i < count; ++i) {
    dst[i] = jobs[i].y;
    if (paths[i] == Path::Plain) continue;
    stage_at[i] = staged;
    staged += jobs[i].n * jobs[i].w->rows();
  }
  const bool team = in_team();
  if (team) {
    float* stage = team_stage(size_t(staged));
    for (size_t i = 0; i < count; ++i) dst[i] = stage + stage_at[i];
  }
  team_chunks(int64_t(chunks.size()), [&](int64_t c) {
    const Chunk& ch = chunks[size_t(c)];
    const MatmulJob& j = jobs[ch.job];
    const TensorView& w = *j.w;
    float* y = dst[size_t(ch.job)];
    if (paths[size_t(ch.job)] == Path::Fused) {
      qg::gemv_avx512(w, ch.r0, ch.r1, acts[act_of[size_t(ch.job)]], y, w.rows());
    } else {
      for (int64_t o = ch.r0; o < ch.r1; ++o) row_kernel(w.dtype, w.row(o), w.cols(), j.x, j.n, y + o, w.rows());
    }
  });
  if (team)
    for (size_t i = 0; i < count; ++i)
      if (paths[i] != Path::Plain) std::copy_n(dst[i], jobs[i].n * jobs[i].w->rows(), jobs[i].y);
  for (size_t i = 0; i < count; ++i)
    if (paths[i] == Path::Plain) matmul(*jobs[i].w, jobs[i].x, jobs[i].n, jobs[i].y);
}

bool matmul_rows_applies(const MatmulJob& job) { return path_of(job) != Path::Plain; }

void matmul_rows(const MatmulJob* jobs, const RowRange* rows, size_t count) {
  const RowKernel row_kernel = row_kernel_for(active_isa());
  // Reused per thread (this runs on the calling thread alone, once a layer per rank at decode):
  // no allocation per call.
  static thread_local std::vector<qg::Acts> acts;
  static thread_local std::vector<Path> paths;
  static thread_local std::vector<size_t> act_of;
  paths.resize(count);
  for (size_t i = 0; i < count; ++i) {
    paths[i] = path_of(jobs[i]);
    SPUTNIK_CHECK(paths[i] != Path::Plain && 0 <= rows[i].begin && rows[i].begin <= rows[i].end &&
                  rows[i].end <= jobs[i].w->rows());
  }
  quantize_inputs(jobs, count, paths, act_of, acts);
  for (size_t i = 0; i < count; ++i) {
    const MatmulJob& j = jobs[i];
    const TensorView& w = *j.w;
    if (paths[i] == Path::Fused) {
      qg::gemv_avx512(w, rows[i].begin, rows[i].end, acts[act_of[i]], j.y, w.rows());
    } else {
      for (int64_t o = rows[i].begin; o < rows[i].end; ++o) row_kernel(w.dtype, w.row(o), w.cols(), j.x, j.n, j.y + o, w.rows());
    }
  }
}

}  // namespace sputnik
