#pragma once
// Writing a checkpoint (a WeightStore with HF names and config) as a GGUF file llama.cpp loads:
// the metadata llama.cpp's convert_hf_to_gguf.py writes for qwen2/deepseek2, the tokenizer of
// the HF folder, tensors renamed (gguf_names.h), experts stacked per layer, and weights
// converted to the requested type.
//
// Types, as the converter and llama-quantize choose them: 1-D tensors, norms, biases and the
// MoE router (ffn_gate_inp) stay F32; every other matrix gets the requested type, or Q8_0 (F16
// when rows are not whole 32-blocks) where its rows are not whole blocks of that type.
// MTP layers (index >= num_hidden_layers) are left out, as the converter does.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf_config.h"
#include "formats/weight_store.h"

namespace sputnik {

struct GgufExportOptions {
  DType type = DType::Q8_0;  // F32, F16, BF16, Q8_0, Q4_0, Q4_K
  // Folder with tokenizer.json (+ tokenizer_config.json); empty: none. When the store came from
  // a GGUF file its tokenizer.* metadata is copied instead.
  std::string tokenizer_dir;
  std::string name;  // general.name
  std::string pre;   // tokenizer.ggml.pre; empty: guessed from the pre-tokenizer
  // Called after each tensor is written: (tensors done, tensor count).
  std::function<void(size_t done, size_t total)> progress;
};

// Throws Error naming the source or output on unsupported models, names or types.
void export_gguf(const WeightStore& store, const std::string& out_path, const GgufExportOptions& opts);

// The type a tensor gets (see above); `gguf_name` is its GGUF name, `shape` PyTorch order.
DType gguf_export_type(const std::string& gguf_name, const std::vector<int64_t>& shape, DType requested);

// tokenizer.ggml.* (and tokenizer.chat_template) for an HF folder, as convert_hf_to_gguf.py's
// _set_vocab_gpt2 writes them: the token list padded to `vocab_size` with [PADi] (UNUSED),
// token types (added special tokens CONTROL, other added USER_DEFINED, the rest NORMAL), merges,
// special token ids from tokenizer_config.json then config.json, add_bos/eos flags, template.
// Returns nothing when the folder has no tokenizer.json.
std::vector<GgufKv> hf_tokenizer_to_gguf(const std::string& dir, const nlohmann::json& config,
                                         int64_t vocab_size, const std::string& pre_override);

}  // namespace sputnik
