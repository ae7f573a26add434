#pragma once
// Hugging Face checkpoint folders (see loader.h for the public entry point).
#include <memory>
#include <string>

#include "formats/loader.h"

namespace sputnik {

// `dir` holds config.json and either model.safetensors or model.safetensors.index.json + shards.
std::unique_ptr<WeightStore> load_hf_folder(const std::string& dir, const LoadOptions& options);

// One .safetensors file; config.json is read from the file's folder.
std::unique_ptr<WeightStore> load_safetensors_file(const std::string& file,
                                                   const LoadOptions& options);

}  // namespace sputnik
