#include "formats/loader.h"

#include <unistd.h>

#include <filesystem>

#include "core/error.h"
#include "formats/decode_tiles.h"
#include "formats/gguf.h"
#include "formats/hf_folder.h"

namespace sputnik {
namespace {

// GGUF tensors are plain views; prefetch and progress are applied afterwards over them so the
// CLI's progress bar works the same for both formats.
void finish_gguf(WeightStore& store, const LoadOptions& options) {
  if (!options.progress && !options.prefetch && !options.decode_tiles) return;
  uint64_t total = 0, done = 0;
  const auto names = store.names();
  for (const auto& n : names) total += store.get(n).nbytes;
  if (options.progress) options.progress(0, total);
  if (options.prefetch || options.decode_tiles)
    for (const auto& f : store.files()) f->prefetch(0, f->size());
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  auto on_tensor = [&](const std::string& name, uint64_t bytes) {
    const TensorView& t = store.get(name);
    if (options.prefetch && !store.decode_tiles) {  // moved tensors are resident already
      volatile std::byte sink{};
      for (size_t off = 0; off < t.nbytes; off += page) sink = t.data[off];
      (void)sink;
    }
    done += bytes;
    if (options.progress) options.progress(done, total);
  };
  if (options.decode_tiles) {
    tile_for_decode(store, on_tensor, options.panels);
  } else {
    for (const auto& n : names) on_tensor(n, store.get(n).nbytes);
  }
}

}  // namespace

std::unique_ptr<WeightStore> load_weights(const std::string& path, const LoadOptions& options) {
  namespace fs = std::filesystem;
  if (path.empty()) fail("no model path given");
  if (fs::is_directory(path)) return load_hf_folder(path, options);
  if (!fs::exists(path)) fail("{}: no such file or folder", path);
  if (path.ends_with(".safetensors")) return load_safetensors_file(path, options);
  if (path.ends_with(".gguf") || is_gguf_file(path)) {
    auto store = load_gguf(path);  // formats/gguf.h
    finish_gguf(*store, options);
    return store;
  }
  fail("{}: not a model folder, .safetensors or .gguf file", path);
}

}  // namespace sputnik
