#pragma once
// The one way to open a checkpoint: a Hugging Face folder (config.json + model.safetensors or
// shards listed in model.safetensors.index.json), a single .safetensors file whose folder holds
// config.json, or a llama.cpp .gguf file. Weights stay memory-mapped; only tensors that need
// converting (DeepSeek FP8 block-scaled weights) get owned buffers.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "formats/decode_tiles.h"
#include "formats/weight_store.h"

namespace sputnik {

struct LoadOptions {
  // What DeepSeek FP8 weights become at load: F32 (exact) or BF16 (half the memory).
  DType fp8_dtype = DType::F32;
  // Read every weight page now (madvise + touch), so the first token is not slowed by page
  // faults and a progress bar shows the real disk reads. Off: pages load on first use.
  bool prefetch = false;
  // GGUF Q8_0/Q4_0 matrices moved into the Tiles16 layout (formats/decode_tiles.h) for fast
  // decode on AVX-512: every weight is read at load and copied (peak RSS stays about the
  // weights). For commands that run the model; off, weights stay memory-mapped as stored.
  bool decode_tiles = false;
  // With decode_tiles: which matrices are stored in panels (formats/decode_tiles.h).
  PanelPolicy panels;
  // Called as tensors are processed with the bytes of tensor data handled so far and in all
  // (the checkpoint's stored size); the last call has done == total.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

// Throws Error naming the path and the problem for anything missing or malformed.
std::unique_ptr<WeightStore> load_weights(const std::string& path, const LoadOptions& options = {});

}  // namespace sputnik
