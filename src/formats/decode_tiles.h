#pragma once
// Moves a loaded GGUF checkpoint into owned 2 MiB-page memory for the AVX-512 decode kernels,
// its Q8_0 and Q4_0 weight matrices into the Tiles16 layout (kernels/tiles.h) on the way. The
// file pages each copy came from are dropped behind it, so peak RSS stays about the weights.
#include <cstdint>
#include <functional>

#include "formats/weight_store.h"

namespace sputnik {

// Whether `name`'s tensor in `store` gets tiles: a tileable matrix (can_tile) read by the
// matmul kernels. Not kv_b_proj (MLA slices it per head), nor an untied embedding table (only
// looked up by rows).
bool wants_decode_tiles(const WeightStore& store, const std::string& name);
// Moves every tensor, tiling those that wants_decode_tiles, calling on_tensor(name, bytes)
// after each. Leaves the store as it is below AVX-512 (the only ISA with tile kernels).
void tile_for_decode(WeightStore& store, const std::function<void(const std::string&, uint64_t)>& on_tensor);

}  // namespace sputnik
