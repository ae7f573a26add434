// libFuzzer: arbitrary bytes as a GGUF file. Parsing must either throw Error or give tensor
// views wholly inside the input (ASan checks the reads); what parses must survive the HF mapping
// and a write/re-read round trip with the same metadata and tensors.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_writer.h"

namespace {

void touch(const std::byte* p, size_t n) {
  if (n == 0) return;
  volatile unsigned sink = unsigned(p[0]) + unsigned(p[n - 1]);
  (void)sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sputnik;
  const auto* bytes = reinterpret_cast<const std::byte*>(data);
  GgufFile f;
  try {
    f = parse_gguf(bytes, size, "fuzz");
  } catch (const Error&) {
    return 0;
  }
  for (const GgufTensorInfo& t : f.tensors) touch(bytes + f.data_offset + t.offset, t.nbytes);
  (void)gguf_metadata_json(f);

  // Arrays read in place from the file (as the tokenizer reads the vocabulary) equal the parsed
  // ones, with the vocabulary left in the file or not.
  const GgufFile lean = parse_gguf(bytes, size, "fuzz", /*keep_vocabulary=*/false);
  for (size_t i = 0; i < f.kv.size(); ++i) {
    const GgufArray* a = f.kv[i].second.as_array();
    const GgufArray* b = lean.kv[i].second.as_array();
    if (!a) continue;
    if (!b || a->offset != b->offset) __builtin_trap();
    if (a->elem == GgufType::STRING) {
      const auto items = gguf_string_items(*b, bytes, size, "fuzz");
      if (items.size() != a->items.size()) __builtin_trap();
      for (size_t j = 0; j < items.size(); ++j)
        if (items[j] != *a->items[j].as_string()) __builtin_trap();
    } else if (a->elem != GgufType::ARRAY && a->elem != GgufType::BOOL && a->elem != GgufType::F32 &&
               a->elem != GgufType::F64) {
      std::vector<int64_t> items;
      try {
        items = gguf_int_items(*b, bytes, size, "fuzz");
      } catch (const Error&) {
        continue;  // u64 values above INT64_MAX
      }
      if (items.size() != a->items.size()) __builtin_trap();
      for (size_t j = 0; j < items.size(); ++j)
        if (items[j] != a->items[j].as_int()) __builtin_trap();
    }
  }

  try {
    auto store = gguf_to_store(f, bytes);
    for (const std::string& name : store->names()) {
      const TensorView& v = store->get(name);
      touch(v.data, v.nbytes);
    }
  } catch (const Error&) {
  }

  // Re-write what was read; reading that back must give the same file contents.
  std::vector<std::byte> again;
  try {
    GgufWriter w;
    for (const auto& [k, v] : f.kv) w.add(k, v);
    for (const GgufTensorInfo& t : f.tensors)
      w.add_tensor(t.name, t.dtype, t.shape(), bytes + f.data_offset + t.offset);
    again = w.to_bytes();
  } catch (const Error&) {
    return 0;  // e.g. names longer than llama.cpp allows: valid to read, refused for writing
  }
  const GgufFile g = parse_gguf(again.data(), again.size(), "fuzz-rewrite");
  if (g.kv.size() != f.kv.size() || g.tensors.size() != f.tensors.size()) __builtin_trap();
  for (size_t i = 0; i < f.kv.size(); ++i)
    if (g.kv[i].first != f.kv[i].first || !(g.kv[i].second == f.kv[i].second)) __builtin_trap();
  for (size_t i = 0; i < f.tensors.size(); ++i) {
    const GgufTensorInfo &a = f.tensors[i], &b = g.tensors[i];
    if (a.name != b.name || a.ne != b.ne || a.dtype != b.dtype || a.nbytes != b.nbytes) __builtin_trap();
    if (a.nbytes && __builtin_memcmp(bytes + f.data_offset + a.offset,
                                     again.data() + g.data_offset + b.offset, a.nbytes) != 0)
      __builtin_trap();
  }
  return 0;
}
