#pragma once
// Which matrices a decode team of `ranks` threads wants in column panels (core/tensor.h's
// TensorView::panels), for the split of a dense layer that models/qwen2.cpp decodes with: each
// rank computes the q/k/v rows of its KV heads and their attention, then its heads' columns of
// o_proj; its share of the MLP's inner rows of gate/up, then those columns of down_proj; and
// the ranks add their two partial outputs per layer. A rank's columns of o_proj and down_proj
// are then one contiguous stream, as its rows of q/k/v and gate/up already are.
#include <cstdint>
#include <string>

#include "formats/weight_store.h"

namespace sputnik {

// `ranks` for o_proj and down_proj weights of a qwen2 checkpoint whose KV heads divide among
// the ranks, else 1 (the kernels check that the panels' columns are whole blocks).
int decode_column_panels(const WeightStore& store, const std::string& name, int ranks);

// How many attention or MLP blocks ranks have computed split as above since the process
// started (every rank counts its own): how tests see that the split ran.
int64_t decode_split_count();
void count_decode_split();

}  // namespace sputnik
