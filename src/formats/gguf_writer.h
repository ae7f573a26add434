#pragma once
// Writes GGUF v3 files: key/values in the order added, tensor infos, then each tensor's bytes at
// the next multiple of the alignment (32 unless general.alignment says otherwise), as gguf-py
// and llama.cpp write them. Tensor data is produced on demand while writing, so a large model
// is never held in memory twice.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "formats/gguf.h"

namespace sputnik {

class GgufWriter {
 public:
  // Throws Error on a duplicate key; a general.alignment value sets the alignment.
  void add(std::string key, GgufValue value);
  // `shape` in PyTorch order (outermost first); stored reversed as ggml's ne. `fill` is called
  // once, while writing, with a buffer of dtype_bytes(dtype, numel) bytes to fill.
  void add_tensor(std::string name, DType dtype, std::vector<int64_t> shape,
                  std::function<void(std::byte* dst)> fill);
  // Copies `data` (dtype_bytes(dtype, numel) bytes) when writing; it must stay valid until then.
  void add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, const void* data);

  // Throws Error naming `path` when it cannot be written (the partial file is removed).
  void write(const std::string& path) const;
  std::vector<std::byte> to_bytes() const;

  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    size_t nbytes;
    uint64_t offset;
    std::function<void(std::byte*)> fill;
  };
  template <typename Sink>
  void emit(Sink& sink) const;

  uint64_t alignment_ = 32;
  uint64_t data_size_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace sputnik
