#pragma once
// Chunk sizes for parallel_for in the training ops: below a few thousand multiply-adds per chunk,
// waking a second thread costs more than the work (and on a busy machine far more).
#include <algorithm>
#include <cstdint>

namespace sputnik::train {

inline constexpr int64_t kMinWorkPerChunk = 16384;

// Rows per chunk for a loop over rows of `cost` operations each.
inline int64_t row_grain(int64_t cost) { return std::max<int64_t>(1, kMinWorkPerChunk / std::max<int64_t>(1, cost)); }

// Columns per chunk for a loop over columns that walks `rows` rows each (multiple of 16 floats,
// so two threads never write the same cache line).
inline int64_t col_grain(int64_t rows) { return (row_grain(rows) + 15) / 16 * 16; }

}  // namespace sputnik::train
