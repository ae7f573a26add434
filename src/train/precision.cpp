#include "train/precision.h"

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/gemm_bf16.h"
#include "kernels/matmul.h"

namespace sputnik::train {

namespace {

thread_local bool g_bf16 = false;

// Packed weights of the WeightPackScopes. A scope's generation is a number no other scope gets;
// the thread that opened it packs a weight at its first use in it and reuses that packing only
// within it (the optimizer may change the weight between scopes, and with models trained on
// several threads, scopes overlap). Entries that no open scope can use are dropped when a scope
// opens with none open, so freed models do not pin memory for long.
struct WeightKey {
  const float* w;
  bool trans;
  int64_t k, n, ld;
  bool operator<(const WeightKey& o) const {
    return std::tie(w, trans, k, n, ld) < std::tie(o.w, o.trans, o.k, o.n, o.ld);
  }
};
struct WeightEntry {
  uint64_t generation = 0;
  PackedB packed;
};
struct WeightCache {
  std::mutex mu;
  int open = 0;             // scopes open on all threads (outermost ones)
  uint64_t generation = 0;  // the latest scope's
  std::map<WeightKey, WeightEntry> entries;  // node-based: entries stay put while others are added
};
thread_local int t_depth = 0;              // nesting of scopes on this thread
thread_local uint64_t t_generation = 0;    // this thread's outermost open scope
WeightCache& cache() {
  static WeightCache c;
  return c;
}

}  // namespace

bool bf16_compute() { return g_bf16; }

BF16Scope::BF16Scope(bool on) : previous_(g_bf16) { g_bf16 = on; }
BF16Scope::~BF16Scope() { g_bf16 = previous_; }

WeightPackScope::WeightPackScope() {
  if (t_depth++ > 0) return;
  WeightCache& c = cache();
  const std::lock_guard lock(c.mu);
  if (c.open++ == 0) {
    // No scope is open: every entry is out of date; keep only those the last scope used.
    std::erase_if(c.entries, [&](const auto& e) { return e.second.generation < c.generation; });
  }
  t_generation = ++c.generation;
}

WeightPackScope::~WeightPackScope() {
  if (--t_depth > 0) return;
  WeightCache& c = cache();
  const std::lock_guard lock(c.mu);
  --c.open;
  t_generation = 0;
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (!g_bf16 || m == 0 || n == 0 || k == 0) {
    gemm_f32(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

GemmB::GemmB(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb)
    : trans_(trans), b_(b), ldb_(ldb), bf16_(g_bf16 && k > 0 && n > 0) {
  if (bf16_) pack_b_bf16(trans, k, n, b, ldb, packed_);
}

void GemmB::multiply(bool trans_a, int64_t m, int64_t n, int64_t k0, int64_t k, float alpha, const float* a,
                     int64_t lda, float beta, float* c, int64_t ldc) const {
  if (bf16_ && k > 0) {
    gemm_bf16_packed_part(trans_a, m, n, k0, k, alpha, a, lda, packed_, beta, c, ldc);
    return;
  }
  // op(B) row k0 is B's row k0, or column k0 of the stored [n, k] matrix.
  gemm_f32(trans_a, trans_, m, n, k, alpha, a, lda, trans_ ? b_ + k0 : b_ + k0 * ldb_, ldb_, beta, c, ldc);
}

void gemm_weight(bool trans_a, bool trans_w, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* w, int64_t ldw, float beta, float* c, int64_t ldc) {
  WeightCache& wc = cache();
  if (!g_bf16 || m == 0 || n == 0 || k == 0) {
    gemm(trans_a, trans_w, m, n, k, alpha, a, lda, w, ldw, beta, c, ldc);
    return;
  }
  const PackedB* packed = nullptr;
  {
    const std::lock_guard lock(wc.mu);
    if (t_depth > 0) {
      WeightEntry& e = wc.entries[WeightKey{w, trans_w, k, n, ldw}];
      if (e.generation != t_generation) {
        pack_b_bf16(trans_w, k, n, w, ldw, e.packed);
        e.generation = t_generation;
      }
      packed = &e.packed;
    }
  }
  if (!packed) {
    gemm(trans_a, trans_w, m, n, k, alpha, a, lda, w, ldw, beta, c, ldc);
    return;
  }
  gemm_bf16_packed(trans_a, m, alpha, a, lda, *packed, beta, c, ldc);
}

}  // namespace sputnik::train
