// GGUF -> WeightStore: HF names, per-expert views of stacked expert tensors, config and metadata.
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_config.h"
#include "formats/gguf_names.h"

namespace sputnik {

std::unique_ptr<WeightStore> gguf_to_store(const GgufFile& f, const std::byte* base) {
  auto store = std::make_unique<WeightStore>();
  store->source = f.source;
  store->config = gguf_config_json(f);
  store->metadata = gguf_metadata_json(f);

  for (const GgufTensorInfo& t : f.tensors) {
    TensorView v;
    v.dtype = t.dtype;
    v.shape = t.shape();
    v.data = base + f.data_offset + t.offset;
    v.nbytes = t.nbytes;

    if (auto experts = parse_gguf_experts_name(t.name)) {
      // [n_expert, rows, cols] stacked by the converter; HF models want one matrix per expert.
      if (v.shape.size() != 3)
        fail("{}: expert tensor '{}' has shape {}, expected 3 dimensions", f.source, t.name,
             TensorView{t.name, t.dtype, v.shape}.shape_string());
      for (int64_t e = 0; e < v.shape[0]; ++e) {
        v.name = t.name;
        TensorView one = v.slice(e, 1);
        one.shape.erase(one.shape.begin());
        one.name = hf_expert_name(experts->layer, e, experts->proj);
        store->add(std::move(one));
      }
      continue;
    }
    auto hf = gguf_to_hf_name(t.name);
    v.name = hf ? *hf : t.name;
    store->add(std::move(v));
  }
  return store;
}

std::unique_ptr<WeightStore> load_gguf(const std::string& path) {
  std::shared_ptr<MappedFile> file = MappedFile::open(path);
  GgufFile f = parse_gguf(file->data(), file->size(), path, /*keep_vocabulary=*/false);
  auto store = gguf_to_store(f, file->data());
  // The header and metadata (mostly the vocabulary: ~5 MB for 152k tokens) were read once by the
  // parser; the tokenizer re-reads them if it needs them. Peak RSS ≤ weights + KV + 10%.
  file->release(0, f.data_offset);
  store->keep_alive(std::move(file));
  return store;
}

bool is_gguf_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace sputnik
