// load_tokenizer: what `-m PATH` means for the tokenizer.
#include <filesystem>
#include <optional>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"

namespace sputnik {

namespace {

// GGUF: the tokenizer.ggml.* keys of the file's metadata (only the header is read; the
// tensor data stays unmapped pages).
// The parsed values and their JSON are transient but big for a real vocabulary (~26 + 18 MB
// for 152k tokens and merges): the parse is gone before the tokenizer is built, and the freed
// heap goes back to the OS (glibc keeps freed small chunks otherwise, and they would count in
// the process's RSS next to the weights for the rest of its life).
Tokenizer load_gguf_tokenizer(const std::string& path) {
  std::optional<Tokenizer> tok;
  {
    nlohmann::json metadata;
    {
      const auto file = MappedFile::open(path);
      metadata = gguf_metadata_json(parse_gguf(file->data(), file->size(), path));
    }
    if (!metadata.contains("general.name")) metadata["general.name"] = path;
    tok.emplace(Tokenizer::from_gguf_metadata(metadata));
  }
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return std::move(*tok);
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
