#pragma once
// Moves a loaded GGUF checkpoint into owned 2 MiB-page memory for the AVX-512 decode kernels,
// its Q8_0 and Q4_0 weight matrices into the Tiles16 layout (kernels/tiles.h) on the way. The
// file pages each copy came from are dropped behind it, so peak RSS stays about the weights.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "formats/weight_store.h"

namespace sputnik {

// Whether `name`'s tensor in `store` gets tiles: a tileable matrix (can_tile) read by the
// matmul kernels. Not kv_b_proj (MLA slices it per head), nor an untied embedding table (only
// looked up by rows).
bool wants_decode_tiles(const WeightStore& store, const std::string& name);
// The tensor names in the order a decode step reads them: layers by number, attention before
// the MLP, q, k, v, o, then gate, up, down (experts by number). Laid out in this order, the
// products that share a parallel region (q/k/v, gate/up) are one contiguous stream per thread
// instead of several: each jump to a new address costs a core ~1 µs of its DRAM stream.
std::vector<std::string> decode_order(const std::vector<std::string>& names);
// Into how many panels, along which axis, a tensor about to be tiled is split
// (TensorView::panels; count 1: none). The model family decides (models/decode_panels.h):
// formats only lay them out.
struct DecodePanels {
  int count = 1;
  TensorView::PanelAxis axis = TensorView::PanelAxis::Cols;
};
using PanelPolicy = std::function<DecodePanels(const WeightStore& store, const std::string& name)>;

// Moves every tensor (the matrices in decode_order, then the vectors), tiling those that
// wants_decode_tiles, calling on_tensor(name, bytes) after each. Matrices that `panels` splits
// (and kernels/tiles.h's can_tile_panels allows) are laid out rank-major: one region holds panel
// 0 of each of them in decode order, then panel 1 of each, and so on, so that a decode team's
// rank reads all of its share of every layer as one stream. Leaves the store as it is below
// AVX-512 (the only ISA with tile kernels).
void tile_for_decode(WeightStore& store, const std::function<void(const std::string&, uint64_t)>& on_tensor,
                     const PanelPolicy& panels = {});

}  // namespace sputnik
