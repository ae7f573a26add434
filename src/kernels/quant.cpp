// ggml block quantizers and dequantizers (scalar; they run at load/convert time, not per token).
// Float operations follow ggml's reference order exactly: this file is compiled in ISO C++
// mode without FMA, so the compiler never contracts a·b+c, and every comparison and rounding
// step below mirrors quantize_row_*_ref so that the bytes match llama.cpp's.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"

namespace sputnik {
namespace {

constexpr int QK = 32;    // Q8_0 / Q4_x / Q5_x block
constexpr int QKK = 256;  // K-quant super-block

inline void store_u16(void* p, uint16_t v) { std::memcpy(p, &v, 2); }

// ggml's nearest_int: round half to even through the float magic-number trick (|v| < 2^22).
inline int nearest_int(float v) {
  float f = v + 12582912.f;
  int32_t i;
  std::memcpy(&i, &f, 4);
  return (i & 0x007fffff) - 0x00400000;
}

void quantize_q8_0(const float* x, uint8_t* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += QK, out += 34) {
    float amax = 0.0f;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(out, f32_to_f16(d));
    for (int j = 0; j < QK; ++j) out[2 + j] = uint8_t(int8_t(std::round(x[j] * id)));
  }
}

void quantize_q4_0(const float* x, uint8_t* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += QK, out += 18) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    store_u16(out, f32_to_f16(d));
    // llama.cpp's x86 builds contract x·id + 8.5 into one FMA, and gguf-py reproduces that;
    // an explicit fma gives the same single rounding on every build.
    for (int j = 0; j < QK / 2; ++j) {
      const int q0 = std::min(15, int(int8_t(std::fma(x[j], id, 8.5f))));
      const int q1 = std::min(15, int(int8_t(std::fma(x[QK / 2 + j], id, 8.5f))));
      out[2 + j] = uint8_t(q0 | (q1 << 4));
    }
  }
}

// Weighted least-squares fit of x ≈ scale·L − min with L in [0, nmax], searched over a few
// candidate scales (ggml's make_qkx2_quants). Returns the scale; *neg_min gets −min ≥ 0.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                    float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = w[0], sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *neg_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_err = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
    L[i] = uint8_t(l);
    const float diff = scale * L[i] + min - x[i];
    best_err += w[i] * (diff * diff);
  }
  uint8_t aux[QKK];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      aux[i] = uint8_t(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * aux[i] + this_min - x[i];
        err += w[i] * (diff * diff);
      }
      if (err < best_err) {
        std::memcpy(L, aux, size_t(n));
        best_err = err;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

void quantize_q4_k(const float* x, uint8_t* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += QKK, out += 144) {
    uint8_t L[QKK];
    float w[32], scales[8], mins[8];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      const float* xs = x + 32 * j;
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);
      scales[j] = fit_scale_min(32, 15, xs, w, L + 32 * j, &mins[j], -1.f, 0.1f, 20);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t* packed = out + 4;
    std::memset(packed, 0, 12);
    for (int j = 0; j < 8; ++j) {
      const uint8_t ls = std::min<uint8_t>(63, uint8_t(nearest_int(inv_scale * scales[j])));
      const uint8_t lm = std::min<uint8_t>(63, uint8_t(nearest_int(inv_min * mins[j])));
      if (j < 4) {
        packed[j] = ls;
        packed[j + 4] = lm;
      } else {
        packed[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
        packed[j - 4] |= uint8_t((ls >> 4) << 6);
        packed[j] |= uint8_t((lm >> 4) << 6);
      }
    }
    const uint16_t dh = f32_to_f16(max_scale / 63.f), mh = f32_to_f16(max_min / 63.f);
    store_u16(out, dh);
    store_u16(out + 2, mh);
    // Re-quantize against the rounded 6-bit scales actually stored.
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      q4k_scale_min(j, packed, &sc, &m);
      const float d = f16_to_f32(dh) * sc;
      if (d == 0.0f) continue;
      const float dm = f16_to_f32(mh) * m;
      for (int i = 0; i < 32; ++i)
        L[32 * j + i] = uint8_t(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, 15));
    }
    uint8_t* q = out + 16;
    for (int j = 0; j < QKK; j += 64, q += 32)
      for (int l = 0; l < 32; ++l) q[l] = uint8_t(L[j + l] | (L[j + l + 32] << 4));
  }
}

// Symmetric fit x ≈ scale·L, L in [−nmax, nmax−1], weights x² (ggml's make_qx_quants with
// rmse_type 1). L is returned offset by +nmax.
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < 1e-15f) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i)
        L[i] = int8_t(nmax + std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

void quantize_q6_k(const float* x, uint8_t* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += QKK, out += 210) {
    int8_t L[QKK];
    float scales[16];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = fit_scale_symmetric(16, 32, x + 16 * ib, L + 16 * ib);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    std::memset(out, 0, 210);
    uint8_t* ql = out;
    uint8_t* qh = out + 128;
    int8_t* sc = reinterpret_cast<int8_t*>(out + 192);
    if (max_abs_scale < 1e-15f) {
      store_u16(out + 208, f32_to_f16(0.f));
      continue;
    }
    const float iscale = -128.f / max_scale;
    const uint16_t dh = f32_to_f16(1 / iscale);
    store_u16(out + 208, dh);
    for (int ib = 0; ib < 16; ++ib) sc[ib] = int8_t(std::min(127, nearest_int(iscale * scales[ib])));
    for (int j = 0; j < 16; ++j) {
      const float d = f16_to_f32(dh) * sc[j];
      if (d == 0.0f) continue;
      for (int i = 0; i < 16; ++i)
        L[16 * j + i] = int8_t(std::clamp(nearest_int(x[16 * j + i] / d), -32, 31) + 32);
    }
    for (int j = 0; j < QKK; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l] & 0xF, q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
        ql[l] = uint8_t(q1 | (q3 << 4));
        ql[l + 32] = uint8_t(q2 | (q4 << 4));
        qh[l] = uint8_t((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                        ((L[j + l + 96] >> 4) << 6));
      }
    }
  }
}

void quantize_q8_k(const float* x, uint8_t* out, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, x += QKK, out += 292) {
    float max = 0, amax = 0;
    for (int j = 0; j < QKK; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    std::memset(out, 0, 292);
    if (amax == 0.0f) continue;
    const float iscale = -127.f / max;
    int8_t* qs = reinterpret_cast<int8_t*>(out + 4);
    for (int j = 0; j < QKK; ++j) qs[j] = int8_t(std::min(127, nearest_int(iscale * x[j])));
    for (int j = 0; j < 16; ++j) {
      int16_t sum = 0;
      for (int i = 0; i < 16; ++i) sum = int16_t(sum + qs[16 * j + i]);
      std::memcpy(out + 260 + 2 * j, &sum, 2);
    }
    const float d = 1 / iscale;
    std::memcpy(out, &d, 4);
  }
}

void dequantize_q8_0(const uint8_t* p, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, p += 34, y += QK) {
    const float d = load_f16(p);
    for (int j = 0; j < QK; ++j) y[j] = float(int8_t(p[2 + j])) * d;
  }
}

void dequantize_q4_0(const uint8_t* p, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, p += 18, y += QK) {
    const float d = load_f16(p);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = float((p[2 + j] & 0xF) - 8) * d;
      y[j + QK / 2] = float((p[2 + j] >> 4) - 8) * d;
    }
  }
}

void dequantize_q4_1(const uint8_t* p, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, p += 20, y += QK) {
    const float d = load_f16(p), m = load_f16(p + 2);
    for (int j = 0; j < QK / 2; ++j) {
      y[j] = float(p[4 + j] & 0xF) * d + m;
      y[j + QK / 2] = float(p[4 + j] >> 4) * d + m;
    }
  }
}

// Q5_0 (offset 16, no min) and Q5_1 (min): a fifth bit per value from a 32-bit mask.
void dequantize_q5(const uint8_t* p, float* y, int64_t nb, bool has_min) {
  const int bytes = has_min ? 24 : 22;
  for (int64_t b = 0; b < nb; ++b, p += bytes, y += QK) {
    const float d = load_f16(p);
    const float m = has_min ? load_f16(p + 2) : 0.0f;
    const uint8_t* hp = p + (has_min ? 4 : 2);
    uint32_t qh;
    std::memcpy(&qh, hp, 4);
    const uint8_t* qs = hp + 4;
    for (int j = 0; j < QK / 2; ++j) {
      const int h0 = int(((qh >> j) << 4) & 0x10);
      const int h1 = int((qh >> (j + 12)) & 0x10);
      const int x0 = (qs[j] & 0xF) | h0, x1 = (qs[j] >> 4) | h1;
      if (has_min) {
        y[j] = float(x0) * d + m;
        y[j + QK / 2] = float(x1) * d + m;
      } else {
        y[j] = float(x0 - 16) * d;
        y[j + QK / 2] = float(x1 - 16) * d;
      }
    }
  }
}

void dequantize_q4_k(const uint8_t* p, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, p += 144) {
    const float d = load_f16(p), min = load_f16(p + 2);
    const uint8_t* q = p + 16;
    for (int j = 0; j < 8; j += 2, q += 32) {
      uint8_t sc, m;
      q4k_scale_min(j, p + 4, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      q4k_scale_min(j + 1, p + 4, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * float(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * float(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q6_k(const uint8_t* p, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, p += 210) {
    const float d = load_f16(p + 208);
    const uint8_t* ql = p;
    const uint8_t* qh = p + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(p + 192);
    for (int n = 0; n < QKK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * float(sc[is]) * float(q1);
        y[l + 32] = d * float(sc[is + 2]) * float(q2);
        y[l + 64] = d * float(sc[is + 4]) * float(q3);
        y[l + 96] = d * float(sc[is + 6]) * float(q4);
      }
    }
  }
}

void dequantize_q8_k(const uint8_t* p, float* y, int64_t nb) {
  for (int64_t b = 0; b < nb; ++b, p += 292) {
    float d;
    std::memcpy(&d, p, 4);
    for (int j = 0; j < QKK; ++j) *y++ = d * float(int8_t(p[4 + j]));
  }
}

int64_t blocks_of(DType t, int64_t n) {
  (void)dtype_bytes(t, n);  // throws when n is not whole blocks
  return n / dtype_info(t).block_elems;
}

}  // namespace

bool can_quantize(DType t) {
  switch (t) {
    case DType::F32: case DType::F16: case DType::BF16: case DType::Q8_0: case DType::Q4_0:
    case DType::Q4_K: case DType::Q6_K: case DType::Q8_K:
      return true;
    default:
      return false;
  }
}

bool can_dequantize(DType t) {
  return can_quantize(t) || t == DType::Q4_1 || t == DType::Q5_0 || t == DType::Q5_1;
}

void quantize_row(DType t, const float* x, void* dst, int64_t n) {
  const int64_t nb = blocks_of(t, n);
  auto* out = static_cast<uint8_t*>(dst);
  switch (t) {
    case DType::F32: std::memcpy(dst, x, size_t(n) * 4); return;
    case DType::F16: f32_to_f16_row(x, static_cast<uint16_t*>(dst), n); return;
    case DType::BF16: f32_to_bf16_row(x, static_cast<uint16_t*>(dst), n); return;
    case DType::Q8_0: quantize_q8_0(x, out, nb); return;
    case DType::Q4_0: quantize_q4_0(x, out, nb); return;
    case DType::Q4_K: quantize_q4_k(x, out, nb); return;
    case DType::Q6_K: quantize_q6_k(x, out, nb); return;
    case DType::Q8_K: quantize_q8_k(x, out, nb); return;
    default: fail("quantize_row: cannot quantize to {}", dtype_name(t));
  }
}

void dequantize_row(DType t, const void* src, float* y, int64_t n) {
  const int64_t nb = blocks_of(t, n);
  const auto* p = static_cast<const uint8_t*>(src);
  switch (t) {
    case DType::F32: std::memcpy(y, src, size_t(n) * 4); return;
    case DType::F16: f16_to_f32_row(static_cast<const uint16_t*>(src), y, n); return;
    case DType::BF16: bf16_to_f32_row(static_cast<const uint16_t*>(src), y, n); return;
    case DType::Q8_0: dequantize_q8_0(p, y, nb); return;
    case DType::Q4_0: dequantize_q4_0(p, y, nb); return;
    case DType::Q4_1: dequantize_q4_1(p, y, nb); return;
    case DType::Q5_0: dequantize_q5(p, y, nb, false); return;
    case DType::Q5_1: dequantize_q5(p, y, nb, true); return;
    case DType::Q4_K: dequantize_q4_k(p, y, nb); return;
    case DType::Q6_K: dequantize_q6_k(p, y, nb); return;
    case DType::Q8_K: dequantize_q8_k(p, y, nb); return;
    default: fail("dequantize_row: cannot dequantize {}", dtype_name(t));
  }
}

}  // namespace sputnik
