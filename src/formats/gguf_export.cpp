// WeightStore -> GGUF: names, stacked experts, per-tensor types and conversion.
#include "formats/gguf_export.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/threads.h"
#include "formats/gguf.h"
#include "formats/gguf_names.h"
#include "formats/gguf_writer.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace sputnik {
namespace {

using nlohmann::json;

// llama.cpp's LlamaFileType for general.file_type.
uint32_t file_type(DType t) {
  switch (t) {
    case DType::F32: return 0;
    case DType::F16: return 1;
    case DType::Q4_0: return 2;
    case DType::Q8_0: return 7;
    case DType::Q4_K: return 14;  // MOSTLY_Q4_K_S
    case DType::BF16: return 32;
    default: fail("GGUF export: --type {} is not supported (f32, f16, bf16, q8_0, q4_0, q4_k)", dtype_name(t));
  }
}

// Layer index of an HF name ("model.layers.12.…" -> 12), or -1.
int64_t layer_of(const std::string& name) {
  static const std::string prefix = "model.layers.";
  if (!name.starts_with(prefix)) return -1;
  int64_t v = 0;
  size_t i = prefix.size();
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) v = v * 10 + (name[i] - '0');
  return v;
}

// One tensor of the output: its GGUF name, shape and the source views (several for stacked
// experts, in expert order).
struct Planned {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<const TensorView*> parts;
  DType type;
  bool fuse_kv_b = false;  // parts = {k_b_proj, v_b_proj}: write them back as one kv_b_proj
};

// kv_b_proj rows per head are [k_nope (qk_nope rows) | v (v_head rows)] over kv_lora columns;
// k_b_proj holds the k part transposed ([n_head, kv_lora, qk_nope]), v_b_proj the v part
// ([n_head, v_head, kv_lora]). Early-2025 llama.cpp reads only the fused tensor.
void fuse_kv_b(const TensorView& kb, const TensorView& vb, DType t, std::byte* dst) {
  const int64_t heads = kb.shape[0], lora = kb.shape[1], nope = kb.shape[2], vdim = vb.shape[1];
  std::vector<float> k(static_cast<size_t>(kb.numel())), v(static_cast<size_t>(vb.numel()));
  dequantize_rows(kb, 0, kb.rows(), k.data());
  dequantize_rows(vb, 0, vb.rows(), v.data());
  std::vector<float> row(static_cast<size_t>(lora));
  const size_t row_bytes = dtype_bytes(t, lora);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < nope + vdim; ++i) {
      for (int64_t c = 0; c < lora; ++c)
        row[size_t(c)] = i < nope ? k[size_t((h * lora + c) * nope + i)] : v[size_t((h * vdim + (i - nope)) * lora + c)];
      quantize_row(t, row.data(), dst, lora);
      dst += row_bytes;
    }
  }
}

// Converts `count` rows of `src` (any dtype the kernels read) into `dst` in type `t`.
void convert_rows(const TensorView& src, DType t, std::byte* dst) {
  const int64_t cols = src.cols(), rows = src.rows();
  const size_t out_row = dtype_bytes(t, cols);
  if (src.dtype == t) {  // already in the wanted type: copy bytes as they are
    std::memcpy(dst, src.data, src.nbytes);
    return;
  }
  parallel_for(rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      dequantize_rows(src, r, 1, row.data());
      quantize_row(t, row.data(), dst + size_t(r) * out_row, cols);
    }
  });
}

std::vector<Planned> plan(const WeightStore& store, int64_t n_layers, DType requested) {
  std::map<std::string, Planned> by_name;  // gguf name -> plan
  // Experts first collected per (layer, proj), then stacked.
  std::map<std::pair<int64_t, std::string>, std::map<int64_t, const TensorView*>> experts;

  for (const std::string& name : store.names()) {
    const TensorView& t = store.get(name);
    const int64_t layer = layer_of(name);
    if (layer >= n_layers) continue;  // MTP layers: not part of llama.cpp's deepseek2 graph
    if (name.ends_with("_scale_inv") || name.ends_with("rotary_emb.inv_freq")) continue;
    int64_t expert = -1;
    if (auto e = parse_hf_expert_name(name, &expert)) {
      experts[{e->layer, e->proj}][expert] = &t;
      continue;
    }
    auto g = hf_to_gguf_name(name);
    if (!g) fail("{}: tensor '{}' has no GGUF name (qwen2/deepseek2 layouts only)", store.source, name);
    by_name[*g] = Planned{*g, t.shape, {&t}, DType::F32};
  }
  // Split MLA layout (newer llama.cpp files) goes back to the fused kv_b the converter writes.
  for (int64_t l = 0; l < n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
    const TensorView* kb = store.find(p + "k_b_proj.weight");
    const TensorView* vb = store.find(p + "v_b_proj.weight");
    if (!kb && !vb) continue;
    const std::string kv_b = "blk." + std::to_string(l) + ".attn_kv_b.weight";
    if (!kb || !vb || by_name.count(kv_b) || kb->shape.size() != 3 || vb->shape.size() != 3 ||
        kb->shape[0] != vb->shape[0] || kb->shape[1] != vb->shape[2])
      fail("{}: layer {} has an inconsistent k_b_proj/v_b_proj pair", store.source, l);
    by_name.erase("blk." + std::to_string(l) + ".attn_k_b.weight");
    by_name.erase("blk." + std::to_string(l) + ".attn_v_b.weight");
    by_name[kv_b] = Planned{kv_b, {kb->shape[0] * (kb->shape[2] + vb->shape[1]), kb->shape[1]}, {kb, vb}, DType::F32, true};
  }
  for (auto& [key, group] : experts) {
    const auto& [layer, proj] = key;
    const int64_t n = int64_t(group.size());
    if (group.begin()->first != 0 || group.rbegin()->first != n - 1)
      fail("{}: layer {} {} experts are not numbered 0..{}", store.source, layer, proj, n - 1);
    const TensorView& first = *group.begin()->second;
    if (first.shape.size() != 2)
      fail("{}: expert tensor '{}' is not a matrix", store.source, first.name);
    Planned p{gguf_experts_name(layer, proj), {n, first.shape[0], first.shape[1]}, {}, DType::F32};
    for (const auto& [e, v] : group) {
      if (v->shape != first.shape || v->dtype != first.dtype)
        fail("{}: expert tensor '{}' differs in shape or type from expert 0", store.source, v->name);
      p.parts.push_back(v);
    }
    by_name[p.name] = std::move(p);
  }

  // llama.cpp does not care about order; keep the converter's: embeddings, layers, head.
  std::vector<Planned> out;
  for (auto& [name, p] : by_name) {
    p.type = gguf_export_type(name, p.shape, requested);
    out.push_back(std::move(p));
  }
  auto rank = [](const std::string& n) -> std::pair<int64_t, int64_t> {
    if (n.starts_with("token_embd")) return {-1, 0};
    if (n.starts_with("blk.")) return {std::stoll(n.substr(4)), 0};
    return {INT64_MAX, n == "output.weight" ? 1 : 0};
  };
  std::stable_sort(out.begin(), out.end(), [&](const Planned& a, const Planned& b) {
    return rank(a.name) < rank(b.name);
  });
  return out;
}

// tokenizer.* key/values of a GGUF source, with their original types.
std::vector<GgufKv> gguf_tokenizer(const std::string& path) {
  std::vector<GgufKv> kv;
  auto file = MappedFile::open(path);
  GgufFile f = parse_gguf(file->data(), file->size(), path);
  for (auto& [k, v] : f.kv)
    if (k.starts_with("tokenizer.")) kv.emplace_back(k, v);
  return kv;
}

}  // namespace

DType gguf_export_type(const std::string& name, const std::vector<int64_t>& shape, DType requested) {
  // The converter's rules: 1-D, norms, biases and the router stay F32.
  if (shape.size() <= 1 || name.ends_with("_norm.weight") || !name.ends_with(".weight") ||
      name.find(".ffn_gate_inp.") != std::string::npos)
    return DType::F32;
  const int64_t cols = shape.back();
  if (cols % dtype_info(requested).block_elems == 0) return requested;
  return cols % 32 == 0 ? DType::Q8_0 : DType::F16;
}

void export_gguf(const WeightStore& store, const std::string& out_path, const GgufExportOptions& opts) {
  const uint32_t ftype = file_type(opts.type);
  std::string arch;
  std::vector<GgufKv> params = hf_config_to_gguf(store.config, store.source, &arch);
  const int64_t n_layers = store.config.value("num_hidden_layers", int64_t(0));
  const int64_t vocab = store.config.value("vocab_size", int64_t(0));

  GgufWriter w;
  w.add("general.architecture", GgufValue::str(arch));
  w.add("general.type", GgufValue::str("model"));
  std::string name = opts.name;
  if (name.empty()) name = std::filesystem::path(store.source).filename().string();
  if (!name.empty()) w.add("general.name", GgufValue::str(name));
  for (auto& [k, v] : params) w.add(k, v);
  w.add("general.file_type", GgufValue::u32(ftype));
  w.add("general.quantization_version", GgufValue::u32(2));

  std::vector<GgufKv> tok;
  if (is_gguf_file(store.source)) tok = gguf_tokenizer(store.source);
  else if (!opts.tokenizer_dir.empty()) tok = hf_tokenizer_to_gguf(opts.tokenizer_dir, store.config, vocab, opts.pre);
  for (auto& [k, v] : tok) w.add(k, v);

  std::vector<Planned> tensors = plan(store, n_layers, opts.type);
  const size_t total = tensors.size();
  auto done = std::make_shared<size_t>(0);
  for (Planned& p : tensors) {
    for (const TensorView* part : p.parts)
      if (!can_dequantize(part->dtype) && part->dtype != p.type)
        fail("{}: tensor '{}' is {}, which cannot be converted", store.source, part->name, dtype_name(part->dtype));
    if (!can_quantize(p.type)) fail("GGUF export: cannot write {} tensors", dtype_name(p.type));
    const std::vector<const TensorView*> parts = p.parts;
    const DType type = p.type;
    const bool fuse = p.fuse_kv_b;
    const auto progress = opts.progress;
    w.add_tensor(p.name, type, p.shape, [parts, type, fuse, done, total, progress](std::byte* dst) {
      if (fuse) fuse_kv_b(*parts[0], *parts[1], type, dst);
      else
        for (const TensorView* part : parts) {
          convert_rows(*part, type, dst);
          dst += dtype_bytes(type, part->numel());
        }
      ++*done;
      if (progress) progress(*done, total);
    });
  }
  w.write(out_path);
}

}  // namespace sputnik
