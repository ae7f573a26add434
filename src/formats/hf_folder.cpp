#include "formats/hf_folder.h"

#include <filesystem>
#include <map>
#include <set>
#include <unistd.h>

#include "core/error.h"
#include "formats/fp8.h"
#include "formats/safetensors.h"

namespace sputnik {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr std::string_view kScaleSuffix = "_scale_inv";

json read_json_file(const fs::path& path) {
  auto file = MappedFile::open(path.string());
  const char* p = reinterpret_cast<const char*>(file->data());
  json j = json::parse(p, p + file->size(), nullptr, false);
  if (j.is_discarded()) fail("{}: not valid JSON", path.string());
  if (!j.is_object()) fail("{}: expected a JSON object at the top level", path.string());
  return j;
}

json read_config(const fs::path& dir) {
  const fs::path path = dir / "config.json";
  if (!fs::is_regular_file(path))
    fail("{}: missing config.json (a Hugging Face model folder needs one)", dir.string());
  json config = read_json_file(path);
  auto mt = config.find("model_type");
  if (mt == config.end() || !mt->is_string())
    fail("{}: missing \"model_type\" (e.g. \"qwen2\", \"deepseek_v3\")", path.string());
  return config;
}

// quantization_config.weight_block_size of DeepSeek FP8 checkpoints; [128, 128] when absent.
Fp8BlockSize fp8_block_size(const json& config, const fs::path& dir) {
  Fp8BlockSize block;
  auto qc = config.find("quantization_config");
  if (qc == config.end() || qc->is_null()) return block;
  const std::string where = (dir / "config.json").string();
  if (!qc->is_object()) fail("{}: \"quantization_config\" is not an object", where);
  // Other schemes (GPTQ, AWQ, bitsandbytes, ...) store packed integer tensors that the models
  // would only report as missing weights; say what is actually wrong instead.
  auto method = qc->find("quant_method");
  if (method != qc->end() && !(method->is_string() && method->get<std::string>() == "fp8"))
    fail("{}: quantization method {} is not supported (only DeepSeek's \"fp8\" block scaling)",
         where, method->dump());
  auto bs = qc->find("weight_block_size");
  if (bs == qc->end() || bs->is_null()) return block;
  if (!bs->is_array() || bs->size() != 2 || !(*bs)[0].is_number_integer() ||
      !(*bs)[1].is_number_integer() || (*bs)[0].get<int64_t>() <= 0 ||
      (*bs)[1].get<int64_t>() <= 0)
    fail("{}: quantization_config.weight_block_size must be two positive integers, got {}",
         where, bs->dump());
  block.rows = (*bs)[0].get<int64_t>();
  block.cols = (*bs)[1].get<int64_t>();
  return block;
}

struct Shard {
  std::shared_ptr<MappedFile> file;
  SafetensorsFile parsed;
};

// Shard names from the index, checked to stay inside the folder.
std::vector<std::string> read_index(const fs::path& dir, std::map<std::string, std::string>& weight_map) {
  const fs::path path = dir / kIndexFile;
  json index = read_json_file(path);
  auto wm = index.find("weight_map");
  if (wm == index.end() || !wm->is_object())
    fail("{}: missing \"weight_map\" object", path.string());
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string())
      fail("{}: weight_map entry for '{}' is not a file name", path.string(), tensor);
    std::string s = shard.get<std::string>();
    if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..")
      fail("{}: weight_map names shard '{}', which is not a file in this folder", path.string(), s);
    weight_map[tensor] = s;
    shards.insert(s);
  }
  if (shards.empty()) fail("{}: weight_map lists no tensors", path.string());
  return {shards.begin(), shards.end()};
}

class Loader {
 public:
  Loader(WeightStore& store, const LoadOptions& options, Fp8BlockSize block)
      : store_(store), options_(options), block_(block) {}

  void run(std::vector<Shard>& shards) {
    // Every name once across all shards; remember which file holds it for messages.
    std::map<std::string, std::pair<const TensorView*, const Shard*>, std::less<>> all;
    for (const Shard& s : shards)
      for (const TensorView& t : s.parsed.tensors) {
        auto [it, fresh] = all.emplace(t.name, std::make_pair(&t, &s));
        if (!fresh)
          fail("tensor '{}' appears in both {} and {}", t.name, it->second.second->parsed.name,
               s.parsed.name);
        total_ += t.nbytes;
      }
    report();
    for (const Shard& s : shards) {
      if (options_.prefetch && s.file) s.file->prefetch(0, s.file->size());
      for (const TensorView& t : s.parsed.tensors) {
        try {
          add(t, all);
        } catch (const Error& e) {
          fail("{}: {}", s.parsed.name, e.what());
        }
        done_ += t.nbytes;
        report();
      }
    }
  }

 private:
  template <typename Map>
  void add(const TensorView& t, const Map& all) {
    if (t.name.size() > kScaleSuffix.size() && t.name.ends_with(kScaleSuffix)) {
      auto base = all.find(std::string_view(t.name).substr(0, t.name.size() - kScaleSuffix.size()));
      if (base != all.end() && base->second.first->dtype == DType::F8_E4M3) return;  // consumed
    }
    if (t.dtype == DType::F8_E4M3) {
      auto scale = all.find(t.name + std::string(kScaleSuffix));
      if (scale == all.end())
        fail("FP8 weight '{}' has no '{}{}' block-scale tensor", t.name, t.name, kScaleSuffix);
      add_fp8(t, *scale->second.first);
      return;
    }
    if (options_.prefetch) touch(t);
    const size_t align = size_t(dtype_info(t.dtype).block_bytes);
    if (align > 1 && reinterpret_cast<uintptr_t>(t.data) % std::min<size_t>(align, 8) != 0) {
      // Writers pad headers so data is 8-aligned; a file that is not gets a private copy
      // rather than handing kernels misaligned floats.
      TensorView copy = t;
      std::byte* buf = store_.allocate(t.nbytes);
      std::memcpy(buf, t.data, t.nbytes);
      copy.data = buf;
      store_.add(std::move(copy));
      return;
    }
    store_.add(t);
  }

  void add_fp8(const TensorView& w, const TensorView& scale) {
    check_fp8_pair(w, scale, block_);
    TensorView out;
    out.name = w.name;
    out.dtype = options_.fp8_dtype;
    out.shape = w.shape;
    out.nbytes = dtype_bytes(out.dtype, w.numel());
    std::byte* buf = store_.allocate(out.nbytes);
    dequantize_fp8_blocks(w, scale, block_, out.dtype, buf);
    out.data = buf;
    store_.add(std::move(out));
  }

  // Reads one byte per page so the pages are resident before the first token.
  static void touch(const TensorView& t) {
    static const size_t page = size_t(sysconf(_SC_PAGESIZE));
    volatile std::byte sink{};
    for (size_t off = 0; off < t.nbytes; off += page) sink = t.data[off];
    (void)sink;
  }

  void report() {
    if (options_.progress) options_.progress(done_, total_);
  }

  WeightStore& store_;
  const LoadOptions& options_;
  Fp8BlockSize block_;
  uint64_t total_ = 0, done_ = 0;
};

std::unique_ptr<WeightStore> load_files(const fs::path& dir, const std::string& source,
                                        const std::vector<fs::path>& files,
                                        const std::map<std::string, std::string>& weight_map,
                                        const LoadOptions& options) {
  if (options.fp8_dtype != DType::F32 && options.fp8_dtype != DType::BF16)
    fail("FP8 weights can load as F32 or BF16, not {}", dtype_name(options.fp8_dtype));
  auto store = std::make_unique<WeightStore>();
  store->source = source;
  store->config = read_config(dir);
  const Fp8BlockSize block = fp8_block_size(store->config, dir);

  std::vector<Shard> shards;
  shards.reserve(files.size());
  for (const fs::path& f : files) {
    if (!fs::is_regular_file(f)) {
      if (!weight_map.empty())
        fail("{}: shard '{}' listed in {} is missing", dir.string(), f.filename().string(),
             kIndexFile);
      fail("{}: file not found", f.string());
    }
    Shard s;
    s.file = MappedFile::open(f.string());
    s.parsed = parse_safetensors(*s.file);
    store->keep_alive(s.file);
    shards.push_back(std::move(s));
  }
  // The index is a promise about where each tensor lives; a broken promise means a bad download.
  if (!weight_map.empty()) {
    std::set<std::pair<std::string_view, std::string>> present;  // (tensor, shard file name)
    for (const Shard& s : shards)
      for (const TensorView& t : s.parsed.tensors)
        present.emplace(t.name, fs::path(s.parsed.name).filename().string());
    for (const auto& [tensor, shard] : weight_map)
      if (!present.count({std::string_view(tensor), shard}))
        fail("{}: {} places tensor '{}' in {}, but that file does not contain it", dir.string(),
             kIndexFile, tensor, shard);
  }
  Loader(*store, options, block).run(shards);
  return store;
}

}  // namespace

std::unique_ptr<WeightStore> load_hf_folder(const std::string& dir_str, const LoadOptions& options) {
  const fs::path dir(dir_str);
  if (!fs::is_directory(dir)) fail("{}: not a directory", dir_str);
  std::map<std::string, std::string> weight_map;
  std::vector<fs::path> files;
  if (fs::is_regular_file(dir / kSingleFile)) {
    files.push_back(dir / kSingleFile);
  } else if (fs::is_regular_file(dir / kIndexFile)) {
    for (const std::string& s : read_index(dir, weight_map)) files.push_back(dir / s);
  } else {
    fail("{}: no {} or {} in this folder", dir_str, kSingleFile, kIndexFile);
  }
  return load_files(dir, dir_str, files, weight_map, options);
}

std::unique_ptr<WeightStore> load_safetensors_file(const std::string& file,
                                                   const LoadOptions& options) {
  fs::path dir = fs::path(file).parent_path();
  if (dir.empty()) dir = ".";
  return load_files(dir, file, {fs::path(file)}, {}, options);
}

}  // namespace sputnik
