// Quantized weight rows -> the canonical int8 form of qgemm.h, and activation quantization.
// Unpacking runs once per block of rows per call and is reused for every activation row, so
// plain code is enough here; the arithmetic lives in the ISA kernels.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/cpu.h"
#include "core/error.h"
#include "core/team.h"
#include "core/threads.h"
#include "kernels/qgemm.h"
#include "kernels/tiles.h"
#include "kernels/quant.h"

namespace sputnik::qg {
namespace {

// One row: q[kp], group scale[ng], bias[ng] (groups of 16 values).
void unpack_q8_0(const uint8_t* p, int64_t k, int8_t* q, float* scale, float* bias) {
  for (int64_t b = 0; b < k / 32; ++b, p += 34) {
    const float d = load_f16(p);
    std::memcpy(q + 32 * b, p + 2, 32);
    scale[2 * b] = scale[2 * b + 1] = d;
    bias[2 * b] = bias[2 * b + 1] = 0.0f;
  }
}

void unpack_q4_0(const uint8_t* p, int64_t k, int8_t* q, float* scale, float* bias) {
  for (int64_t b = 0; b < k / 32; ++b, p += 18) {
    const float d = load_f16(p);
    for (int j = 0; j < 16; ++j) {
      q[32 * b + j] = int8_t((p[2 + j] & 0xF) - 8);
      q[32 * b + 16 + j] = int8_t((p[2 + j] >> 4) - 8);
    }
    scale[2 * b] = scale[2 * b + 1] = d;
    bias[2 * b] = bias[2 * b + 1] = 0.0f;
  }
}

void unpack_q4_k(const uint8_t* p, int64_t k, int8_t* q, float* scale, float* bias) {
  for (int64_t b = 0; b < k / 256; ++b, p += 144) {
    const float d = load_f16(p), dmin = load_f16(p + 2);
    const uint8_t* qs = p + 16;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      q4k_scale_min(j, p + 4, &sc, &m);
      const int64_t g = 16 * b + 2 * j;
      scale[g] = scale[g + 1] = d * sc;
      bias[g] = bias[g + 1] = -(dmin * m);
      const uint8_t* src = qs + 32 * (j / 2);
      int8_t* dst = q + 256 * b + 32 * j;
      const int shift = (j & 1) * 4;
      for (int l = 0; l < 32; ++l) dst[l] = int8_t((src[l] >> shift) & 0xF);
    }
  }
}

void unpack_q6_k(const uint8_t* p, int64_t k, int8_t* q, float* scale, float* bias) {
  for (int64_t b = 0; b < k / 256; ++b, p += 210) {
    const float d = load_f16(p + 208);
    const uint8_t* ql = p;
    const uint8_t* qh = p + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(p + 192);
    int8_t* dst = q + 256 * b;
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, dst += 128) {
      for (int l = 0; l < 32; ++l) {
        dst[l] = int8_t(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        dst[l + 32] = int8_t(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        dst[l + 64] = int8_t(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        dst[l + 96] = int8_t(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    for (int g = 0; g < 16; ++g) {
      scale[16 * b + g] = d * float(sc[g]);
      bias[16 * b + g] = 0.0f;
    }
  }
}

}  // namespace

bool can_unpack(DType t) {
  return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q4_K || t == DType::Q6_K;
}

void unpack_rows(const TensorView& w, int64_t row, int64_t count, bool offset128, Rows& r) {
  const int64_t k = w.cols(), kp = padded_k(k), ng = padded_groups(kp);
  r.count = count;
  r.kp = kp;
  r.ng = ng;
  r.offset128 = offset128;
  r.has_bias = w.dtype == DType::Q4_K;
  r.q.resize(size_t(count * kp));
  r.lane_scale.resize(size_t(count * kp / 4));
  r.bias.resize(size_t(count * ng));
  std::vector<float> scale_buf(size_t(kp / 16));
  float* scale = scale_buf.data();
  static thread_local std::vector<std::byte> untiled;
  for (int64_t i = 0; i < count; ++i) {
    const auto* p = reinterpret_cast<const uint8_t*>(stored_row(w, row + i, untiled));
    int8_t* q = r.q.data() + i * kp;
    float* bias = r.bias.data() + i * ng;
    switch (w.dtype) {
      case DType::Q8_0: unpack_q8_0(p, k, q, scale, bias); break;
      case DType::Q4_0: unpack_q4_0(p, k, q, scale, bias); break;
      case DType::Q4_K: unpack_q4_k(p, k, q, scale, bias); break;
      case DType::Q6_K: unpack_q6_k(p, k, q, scale, bias); break;
      default: fail("tensor '{}': no integer kernel for {}", w.name, dtype_name(w.dtype));
    }
    // Padding: zero values with zero scale contribute nothing.
    std::fill(q + k, q + kp, int8_t(0));
    for (int64_t g = k / 16; g < kp / 16; ++g) scale[g] = 0.0f;
    std::fill(bias + k / 16, bias + ng, 0.0f);
    float* lanes = r.lane_scale.data() + i * kp / 4;
    for (int64_t g = 0; g < kp / 16; ++g)
      lanes[4 * g] = lanes[4 * g + 1] = lanes[4 * g + 2] = lanes[4 * g + 3] = scale[g];
    if (offset128)  // q+128 as an unsigned byte; the kernel subtracts 128·Σx
      for (int64_t j = 0; j < kp; ++j) q[j] = int8_t(uint8_t(q[j]) ^ 0x80);
  }
}

void quantize_act_row_scalar(const float* x, int64_t k, int8_t* q, float* d, int32_t* sums16) {
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    d[b] = amax / 127.0f;
    const float id = d[b] != 0.0f ? 1.0f / d[b] : 0.0f;
    int s0 = 0, s1 = 0;
    for (int j = 0; j < 32; ++j) {
      const int v = int(std::nearbyint(xb[j] * id));  // round half to even, like vcvtps2dq
      q[32 * b + j] = int8_t(v);
      (j < 16 ? s0 : s1) += v;
    }
    sums16[2 * b] = s0;
    sums16[2 * b + 1] = s1;
  }
}

int64_t decode_chunk_rows(int64_t total_bytes, int64_t row_bytes) {
  // Forked regions: many small chunks, since a thread that starts late (woken, or descheduled
  // by a neighbour) is common and the other must not wait for its last big one. A team starts
  // every product together and steals from the back of a slower rank's share anyway; there,
  // 4 chunks per rank decoded 0.5B Q4_0 ~3% faster than 16 (A/B in one process, 2 threads).
  const bool team = in_team();
  const int64_t max_chunk_bytes = team ? int64_t(1) << 20 : int64_t(64) << 10;
  const int64_t per_thread = team ? 4 : 16;
  const int64_t target = std::min(max_chunk_bytes, total_bytes / (per_thread * std::max(1, num_threads())));
  return std::max<int64_t>(16, target / std::max<int64_t>(row_bytes, 1) / 16 * 16);
}

bool gemv_applies(const TensorView& w, int64_t n) {
  if (active_isa() != Isa::Avx512 || n < 1 || n > kMaxFusedN || !can_unpack(w.dtype)) return false;
  if (w.shape.size() < 2 || w.data == nullptr || w.rows() == 0 || w.cols() % 32 != 0 || w.column_panels()) return false;
  if (w.dtype != DType::Q8_0 && w.dtype != DType::Q4_0 && w.cols() % 256 != 0) return false;
  return w.nbytes >= dtype_bytes(w.dtype, w.numel());
}

bool gemv_reads_tiles_only(const TensorView& w, int64_t n) {
  return w.layout == Layout::Tiles16 && w.rows() % 16 == 0 && gemv_applies(w, n);
}

void quantize_acts(const float* x, int64_t n, int64_t k, Acts& a, ActForms forms) {
  SPUTNIK_CHECK(k % 32 == 0);
  const int64_t kp = padded_k(k), ng = padded_groups(kp), kb = kp / 32;
  const bool all = forms == ActForms::All;
  a.n = n;
  a.k = k;
  a.kp = kp;
  a.ng = ng;
  a.kb = kb;
  a.all_forms = all;
  a.q.resize(size_t(n * kp));
  a.block_scale.resize(size_t(n * kb));
  a.group_neg.resize(size_t(n * kp / 16));
  if (all) {
    a.group_sum.resize(size_t(n * ng));
    a.block_sum.resize(size_t(n * kb));
  }
  // The per-lane forms (4 values each) serve the row-major decode kernels and the AVX2/scalar
  // GEMM; the AVX-512 prefill GEMM reads per-group values (to_group_acts), and skipping the lanes
  // there saves 8 bytes per activation value of working memory (1.2 MiB for 128 tokens of a
  // 4864-wide down projection: issue 2, point 7).
  const bool lanes = all && (n <= kMaxFusedN || active_isa() != Isa::Avx512);
  if (lanes) {
    a.lane_scale.resize(size_t(n * kp / 4));
    a.neg_sum_lanes.resize(size_t(n * kp / 4));
  } else {
    a.lane_scale.clear();
    a.neg_sum_lanes.clear();
  }
  auto row_kernel = active_isa() == Isa::Avx512 ? quantize_act_row_avx512 : quantize_act_row_scalar;
  parallel_for(n, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int8_t* q = a.q.data() + t * kp;
      float* d = a.block_scale.data() + t * kb;
      int32_t* gneg = a.group_neg.data() + t * kp / 16;
      // The row kernel leaves Σq of each 16 values in gneg, negated below.
      row_kernel(x + t * k, k, q, d, gneg);
      std::fill(q + k, q + kp, int8_t(0));
      std::fill(d + k / 32, d + kb, 0.0f);
      std::fill(gneg + k / 16, gneg + kp / 16, 0);
      for (int64_t g = 0; g < k / 16; ++g) gneg[g] = -gneg[g];
      if (!all) continue;
      float* gs = a.group_sum.data() + t * ng;
      float* bsum = a.block_sum.data() + t * kb;
      std::fill(gs, gs + ng, 0.0f);
      for (int64_t b = 0; b < kb; ++b) {
        const int32_t s0 = -gneg[2 * b], s1 = -gneg[2 * b + 1];
        gs[2 * b] = d[b] * float(s0);
        gs[2 * b + 1] = d[b] * float(s1);
        bsum[b] = d[b] * float(s0 + s1);
      }
      if (lanes) {
        float* lane = a.lane_scale.data() + t * kp / 4;
        int32_t* neg = a.neg_sum_lanes.data() + t * kp / 4;
        std::fill(neg, neg + kp / 4, 0);
        for (int64_t b = 0; b < kb; ++b) {
          for (int l = 0; l < 8; ++l) lane[8 * b + l] = d[b];
          neg[8 * b] = gneg[2 * b];
          neg[8 * b + 4] = gneg[2 * b + 1];
        }
      }
    }
  });
  a.kg = all && n <= kMaxFusedN ? k / 128 : 0;
  a.q4.resize(size_t(n * a.kg * 128));
  a.q4_scale.resize(size_t(n * a.kg * 16));
  a.q4_neg.resize(size_t(n * a.kg * 16));
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t g = 0; g < a.kg; ++g) {
      const int8_t* src = a.q.data() + t * kp + 128 * g;
      int8_t* dst = a.q4.data() + (t * a.kg + g) * 128;
      float* scale = a.q4_scale.data() + (t * a.kg + g) * 16;
      int32_t* neg = a.q4_neg.data() + (t * a.kg + g) * 16;
      const int32_t* neg16 = a.neg_sum_lanes.data() + t * kp / 4 + 32 * g;
      for (int b = 0; b < 4; ++b) {
        std::memcpy(dst + 16 * b, src + 32 * b, 16);
        std::memcpy(dst + 64 + 16 * b, src + 32 * b + 16, 16);
        for (int l = 0; l < 4; ++l) {
          scale[4 * b + l] = a.block_scale[size_t(t * kb + 4 * g + b)];
          neg[4 * b + l] = l == 0 ? 8 * (neg16[8 * b] + neg16[8 * b + 4]) : 0;  // q − 8: lanes start at −8·Σq
        }
      }
    }
  }
}

}  // namespace sputnik::qg
