#include "core/read_bandwidth.h"

#include <immintrin.h>
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "core/threads.h"

namespace sputnik {
namespace {

constexpr size_t kPage = size_t(2) << 20;

__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint64_t* p, int64_t begin, int64_t end) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = begin; i < end; i += 32) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 8));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 16));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 24));
  }
  // Summed as unsigned words: _mm512_reduce_add_epi64 adds signed 64-bit lanes in C, and their
  // wrap-around is undefined behaviour (UBSan flags it).
  alignas(64) uint64_t v[8];
  _mm512_store_si512(v, _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
  uint64_t sum = 0;
  for (const uint64_t x : v) sum += x;
  return sum;
}

uint64_t sum_sse2(const uint64_t* p, int64_t begin, int64_t end) {
  __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = begin; i < end; i += 8) {
    a0 = _mm_add_epi64(a0, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
    a1 = _mm_add_epi64(a1, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 2)));
    a2 = _mm_add_epi64(a2, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 4)));
    a3 = _mm_add_epi64(a3, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 6)));
  }
  alignas(16) uint64_t v[2];
  _mm_store_si128(reinterpret_cast<__m128i*>(v), _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3)));
  return v[0] + v[1];
}

}  // namespace

uint64_t stream_sum(const uint64_t* words, int64_t begin, int64_t end) {
  static const bool wide = __builtin_cpu_supports("avx512f");
  return wide ? sum_avx512(words, begin, end) : sum_sse2(words, begin, end);
}

void ReadBandwidthProbe::Free::operator()(uint64_t* p) const { std::free(p); }

ReadBandwidthProbe::ReadBandwidthProbe(size_t bytes) : bytes_(bytes / kPage * kPage) {
  if (bytes_ == 0) fail("bandwidth probe: {} bytes is less than one 2 MiB page", bytes);
  buffer_.reset(static_cast<uint64_t*>(std::aligned_alloc(kPage, bytes_)));
  if (!buffer_) fail("bandwidth probe: cannot allocate {} bytes", bytes_);
  // With 4 KiB pages a VM's nested page walks, not DRAM, can limit a streaming read.
  madvise(buffer_.get(), bytes_, MADV_HUGEPAGE);
  uint64_t* b = buffer_.get();
  parallel_for(int64_t(bytes_ / 8), int64_t(kPage / 8), [b](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) b[i] = uint64_t(i) * 0x9E3779B97F4A7C15ull;
  });
}

double read_gbps(const uint64_t* data, int64_t words, int passes, uint64_t* sink) {
  std::atomic<uint64_t> total{0};
  const auto t0 = std::chrono::steady_clock::now();
  for (int p = 0; p < passes; ++p) {
    parallel_for(words, int64_t(kPage / 8), [&](int64_t begin, int64_t end) {
      total.fetch_add(stream_sum(data, begin, end), std::memory_order_relaxed);
    });
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  *sink += total.load();
  return double(words) * 8 * passes / seconds / 1e9;
}

double ReadBandwidthProbe::measure_gbps(int passes) {
  return read_gbps(buffer_.get(), int64_t(bytes_ / 8), passes, &sink_);
}

}  // namespace sputnik
