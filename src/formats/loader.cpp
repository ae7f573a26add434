#include "formats/loader.h"

#include <filesystem>

#include "core/error.h"
#include "formats/hf_folder.h"

namespace sputnik {

std::unique_ptr<WeightStore> load_weights(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (path.empty()) fail("no model path given");
  if (fs::is_directory(path)) return load_hf_folder(path, options);
  if (!fs::exists(path)) fail("{}: no such file or folder", path);
  if (path.ends_with(".safetensors")) return load_safetensors_file(path, options);
  if (path.ends_with(".gguf")) {
    // GGUF call site: formats/gguf.h (load_gguf) is written separately; wired here when it lands.
    fail("{}: GGUF loading is not available in this build yet", path);
  }
  fail("{}: not a model folder, .safetensors or .gguf file", path);
}

}  // namespace sputnik
