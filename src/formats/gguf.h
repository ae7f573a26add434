#pragma once
// llama.cpp GGUF files (v3, v2 accepted): parsing, and loading into a WeightStore under Hugging
// Face tensor names with an HF-style config.json object.
//
// Layout (little-endian): "GGUF", u32 version, u64 tensor count, u64 key/value count, the
// key/values, the tensor infos (name, u32 n_dims, u64 ne[n_dims] innermost first, u32 ggml
// type, u64 offset into the data section), padding to `general.alignment` (default 32), data.
// Every count, length and offset is validated against the bytes actually present, so a lying
// header produces an Error naming the file, never a crash or a huge allocation.
//
// Names after load_gguf (see gguf_names.h for the table):
//   qwen2     blk.L.attn_q.weight -> model.layers.L.self_attn.q_proj.weight, ...
//   deepseek2 stacked experts blk.L.ffn_{gate,up,down}_exps.weight [E, rows, cols] become
//             per-expert views model.layers.L.mlp.experts.E.{gate,up,down}_proj.weight.
//             The split MLA layout of newer llama.cpp files has no kv_b_proj; instead:
//               model.layers.L.self_attn.k_b_proj.weight  shape [n_head, kv_lora_rank, qk_nope]
//               model.layers.L.self_attn.v_b_proj.weight  shape [n_head, v_head_dim, kv_lora_rank]
//             i.e. kv_b_proj viewed as [n_head, qk_nope + v_head, kv_lora], split along dim 1,
//             with the k part transposed. Files with attn_kv_b give the usual kv_b_proj.
// Tensors with names the table does not know keep their GGUF names.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/dtype.h"
#include "formats/weight_store.h"

namespace sputnik {

// GGUF metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7,
  STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};
std::string_view gguf_type_name(GgufType t);

struct GgufValue;
struct GgufArray {
  GgufType elem = GgufType::U8;
  std::vector<GgufValue> items;
  uint64_t skipped = 0;  // elements validated but not kept (parse_gguf without the vocabulary)
  size_t offset = 0;     // where its elements start in the file (parsed arrays; not compared)
};

// One metadata value: the file's type plus the value widened to 64 bits.
struct GgufValue {
  GgufType type = GgufType::U8;
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;

  static GgufValue u32(uint32_t x) { return {GgufType::U32, uint64_t(x)}; }
  static GgufValue u64(uint64_t x) { return {GgufType::U64, x}; }
  static GgufValue i32(int32_t x) { return {GgufType::I32, int64_t(x)}; }
  static GgufValue f32(float x) { return {GgufType::F32, double(x)}; }
  static GgufValue boolean(bool x) { return {GgufType::BOOL, x}; }
  static GgufValue str(std::string s) { return {GgufType::STRING, std::move(s)}; }
  static GgufValue array(GgufType elem, std::vector<GgufValue> items) {
    return {GgufType::ARRAY, GgufArray{elem, std::move(items)}};
  }

  bool is_integer() const;  // any of U8..I64 (not BOOL)
  bool is_number() const;   // integer or float
  // Numeric readers; throw Error when the value is not a number (or, for as_uint, negative).
  uint64_t as_uint() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string* as_string() const { return std::get_if<std::string>(&v); }
  const GgufArray* as_array() const { return std::get_if<GgufArray>(&v); }
  const bool* as_bool() const { return std::get_if<bool>(&v); }
};
bool operator==(const GgufValue& a, const GgufValue& b);
inline bool operator==(const GgufArray& a, const GgufArray& b) {
  return a.elem == b.elem && a.items == b.items && a.skipped == b.skipped;
}

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the innermost (contiguous) dimension
  DType dtype = DType::F32;
  uint64_t offset = 0;  // from the start of the data section
  size_t nbytes = 0;
  // PyTorch order (outermost first): ne reversed.
  std::vector<int64_t> shape() const { return {ne.rbegin(), ne.rend()}; }
};

struct GgufFile {
  std::string source;  // file name for messages
  uint32_t version = 3;
  uint64_t alignment = 32;
  size_t data_offset = 0;  // absolute offset of the data section
  std::vector<std::pair<std::string, GgufValue>> kv;  // in file order
  std::vector<GgufTensorInfo> tensors;                 // in file order

  const GgufValue* find(std::string_view key) const;
  const GgufTensorInfo* find_tensor(std::string_view name) const;
};

// Parses and validates `size` bytes (the whole file); `source` names it in errors.
// Never keeps a pointer to `data`. With keep_vocabulary false the per-token arrays
// (kGgufVocabularyKeys) are validated but left in the file: their items stay empty and
// `skipped` holds the count. As strings and JSON they cost ~40 MB of heap for a 152k
// vocabulary, which a model's weights never need (load_tokenizer reads them itself).
GgufFile parse_gguf(const std::byte* data, size_t size, const std::string& source, bool keep_vocabulary = true);
inline constexpr std::string_view kGgufVocabularyKeys[] = {
    "tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores", "tokenizer.ggml.merges"};

// The elements of a parsed array read again from the file's bytes, e.g. a vocabulary array
// that parse_gguf left there: strings as views into `data` (valid while it is mapped), integers
// widened. Throws Error when the array holds another type or does not fit in `size` bytes.
std::vector<std::string_view> gguf_string_items(const GgufArray& a, const std::byte* data, size_t size,
                                                const std::string& source);
std::vector<int64_t> gguf_int_items(const GgufArray& a, const std::byte* data, size_t size, const std::string& source);

// Metadata as JSON (numbers, strings, booleans, arrays; keys of skipped arrays are left out); f32 values are given as the shortest
// decimal that reads back as the same float (1e-06, not 9.999999974752427e-07).
nlohmann::json gguf_value_to_json(const GgufValue& v);
nlohmann::json gguf_metadata_json(const GgufFile& f);

// Builds the store from a parsed file whose bytes start at `base` (which must outlive the
// store): metadata, config (gguf_config.h) and tensors renamed to HF names (gguf_names.h).
std::unique_ptr<WeightStore> gguf_to_store(const GgufFile& f, const std::byte* base);

// Memory-maps `path`, parses it and builds the store (the mapping is kept alive by the store).
// The store's metadata has no vocabulary arrays (see parse_gguf).
std::unique_ptr<WeightStore> load_gguf(const std::string& path);

// True when the file starts with the GGUF magic (for format sniffing by the loader).
bool is_gguf_file(const std::string& path);

}  // namespace sputnik
