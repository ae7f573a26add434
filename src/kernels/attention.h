#pragma once
// Attention of one query over the first `n_keys` cached keys (the caller passes only the keys a
// causal query may see). Keys and values are rows `k_stride`/`v_stride` floats apart, so one
// routine serves GQA (K and V caches) and MLA's absorbed form (V = the first kv_lora dims of the
// same [latent | rope key] rows).
#include <cstdint>

namespace sputnik {

// out[dv] = sum_j softmax_j(scale * q·k_j) * v_j.  `scratch` holds n_keys floats.
void attend(const float* q, int64_t dk, const float* k, int64_t k_stride, const float* v,
            int64_t v_stride, int64_t dv, int64_t n_keys, float scale, float* scratch, float* out);

}  // namespace sputnik
