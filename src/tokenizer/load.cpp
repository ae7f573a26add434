// load_tokenizer: what `-m PATH` means for the tokenizer.
#include <filesystem>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace sputnik {

namespace {

// GGUF: the tokenizer.ggml.* keys of the file's metadata (only the header is read; the
// tensor data stays unmapped pages).
Tokenizer load_gguf_tokenizer(const std::string& path) {
  const auto file = MappedFile::open(path);
  const GgufFile gguf = parse_gguf(file->data(), file->size(), path);
  nlohmann::json metadata = gguf_metadata_json(gguf);
  if (!metadata.contains("general.name")) metadata["general.name"] = path;
  return Tokenizer::from_gguf_metadata(metadata);
}

}  // namespace

Tokenizer load_tokenizer(const std::string& path) {
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

}  // namespace sputnik
