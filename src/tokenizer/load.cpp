// load_tokenizer: what `-m PATH` means for the tokenizer.
#include <filesystem>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace sputnik {

namespace {

// GGUF: the header's metadata without the per-token arrays, which are read in place from the
// mapped file (only the header's pages are touched; the tensor data stays unmapped).
Tokenizer load_gguf_tokenizer(const std::string& path) {
  const auto file = MappedFile::open(path);
  const GgufFile gguf = parse_gguf(file->data(), file->size(), path, /*keep_vocabulary=*/false);
  nlohmann::json metadata = gguf_metadata_json(gguf);
  if (!metadata.contains("general.name")) metadata["general.name"] = path;
  Tokenizer::GgufVocabulary vocabulary;
  const std::string what = path + ": tokenizer.ggml.";
  const auto array = [&](const char* key) -> const GgufArray* {
    const GgufValue* v = gguf.find(std::string("tokenizer.ggml.") + key);
    if (!v) return nullptr;
    if (!v->as_array()) fail("{}{} is not an array", what, key);
    return v->as_array();
  };
  if (const GgufArray* a = array("tokens"))
    vocabulary.tokens = gguf_string_items(*a, file->data(), file->size(), what + "tokens");
  if (const GgufArray* a = array("token_type"))
    vocabulary.token_types = gguf_int_items(*a, file->data(), file->size(), what + "token_type");
  if (const GgufArray* a = array("merges"))
    vocabulary.merges = gguf_string_items(*a, file->data(), file->size(), what + "merges");
  return Tokenizer::from_gguf(metadata, vocabulary);  // copies what it keeps; the mapping goes
}

Tokenizer load_any(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Tokenizer::from_folder(path);
  if (!fs::exists(path, ec)) fail("{}: no such file or folder", path);
  const fs::path p(path);
  if (p.extension() == ".gguf") return load_gguf_tokenizer(path);
  if (p.filename() == "tokenizer.json") {
    const fs::path cfg = p.parent_path() / "tokenizer_config.json";
    return Tokenizer::from_files(path, fs::exists(cfg, ec) ? cfg.string() : std::string());
  }
  fail("{}: expected a model folder, a folder with tokenizer.json, a tokenizer.json file or a .gguf file", path);
}

}  // namespace

// Parsing a real vocabulary takes transient heap beyond the ~20 MB the tokenizer keeps for 152k
// tokens: ~60 MB for tokenizer.json's JSON, ~25 MB for a GGUF's (views, the builder's lists, the
// tables growing). glibc keeps freed small chunks for reuse, and they would count in the
// process's RSS next to the weights for the rest of its life: give them back.
Tokenizer load_tokenizer(const std::string& path) {
  Tokenizer tok = load_any(path);
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return tok;
}

}  // namespace sputnik
