#pragma once
// How a decode team of `ranks` threads wants a layer's matrices split into panels
// (core/tensor.h's TensorView::panels), for the split that tensor-parallel inference uses and
// models/qwen2.cpp, mla.cpp, mlp.cpp and moe.cpp decode with: each rank computes the query
// (and qwen2's k/v) rows of its heads and their attention, then its heads' columns of o_proj
// (DeepSeek's MLA also exchanges its shares of kv_a and q_a); its share of an MLP's inner
// rows of gate/up, then those columns of down_proj (dense layers, DeepSeek's shared experts);
// and the ranks add their partial outputs, once per block. q/k/v and gate/up are split by rows,
// o_proj and down_proj by columns, and formats/decode_tiles.h lays each rank's panels out as
// one contiguous stream.
#include <cstdint>
#include <string>

#include "formats/decode_tiles.h"
#include "formats/weight_store.h"

namespace sputnik {

// One panel per rank for the MLP matrices of qwen2 and DeepSeek checkpoints (dense layers and
// shared experts), for DeepSeek's attention, and for qwen2's where its KV heads divide among the
// ranks, else none (tile_for_decode checks that the panels are whole tiles and blocks).
DecodePanels decode_panels(const WeightStore& store, const std::string& name, int ranks);

// How many attention or MLP blocks ranks have computed split as above since the process
// started (every rank counts its own): how tests see that the split ran.
int64_t decode_split_count();
void count_decode_split();

}  // namespace sputnik
