#pragma once
// All tensors of one checkpoint by name, whatever file format they came from. Names are the
// Hugging Face names ("model.layers.0.self_attn.q_proj.weight"); the GGUF loader translates
// llama.cpp names into these, so models only ever see one naming scheme.
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"

namespace sputnik {

class WeightStore {
 public:
  // Returns nullptr when absent.
  const TensorView* find(std::string_view name) const;
  // Throws Error "<source>: missing tensor '<name>'" when absent.
  const TensorView& get(std::string_view name) const;
  // Throws Error naming the tensor when its shape differs.
  const TensorView& get(std::string_view name, const std::vector<int64_t>& expected_shape) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;
  size_t size() const { return tensors_.size(); }

  // Registration, used by the loaders.
  void add(TensorView view);  // throws on duplicate names
  void keep_alive(std::shared_ptr<MappedFile> file) { files_.push_back(std::move(file)); }
  // Owned storage for tensors that had to be converted at load (e.g. FP8 -> F32).
  std::byte* allocate(size_t nbytes);
  // The same in whole pages, zeroed, asking for 2 MiB pages (for weights a decode streams).
  std::byte* allocate_pages(size_t nbytes);
  // Replaces the view of an existing tensor (e.g. after moving it to a new layout).
  void replace(TensorView view);

  std::string source;  // folder or file it was loaded from, for error messages
  // Set when the loader moved the matrices into the decode kernels' tiles
  // (formats/decode_tiles.h): models then tile the matrices they derive at load too.
  bool decode_tiles = false;
  // Model hyper-parameters: the HF config.json, or for GGUF an equivalent object built from
  // the file's metadata (see formats/gguf_config.h).
  nlohmann::json config;
  // Extra metadata (GGUF key/values: tokenizer.ggml.*, general.*), empty for HF folders.
  nlohmann::json metadata;
  const std::vector<std::shared_ptr<MappedFile>>& files() const { return files_; }
  // How the mapped files and allocate_pages() memory are resident now (MappedFile::Residency);
  // nullopt where that cannot be read.
  std::optional<MappedFile::Residency> residency() const;
  // The allocate_pages() blocks as asked for (2 MiB aligned): where the decode layout lives.
  struct Region {
    const std::byte* data;
    size_t bytes;
  };
  std::vector<Region> page_regions() const;

 private:
  std::map<std::string, TensorView, std::less<>> tensors_;
  std::vector<std::shared_ptr<MappedFile>> files_;
  std::vector<std::unique_ptr<std::byte[]>> owned_;
  struct Pages {
    void* data = nullptr;
    size_t size = 0;
    Region asked{nullptr, 0};
    Pages(void* d, size_t n) : data(d), size(n) {}
    Pages(const Pages&) = delete;
    Pages& operator=(const Pages&) = delete;
    ~Pages();
  };
  std::vector<std::unique_ptr<Pages>> pages_;
};

}  // namespace sputnik
