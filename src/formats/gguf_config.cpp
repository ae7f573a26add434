#include "formats/gguf_config.h"

#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "formats/gguf_names.h"

namespace sputnik {
namespace {

using nlohmann::json;

// Reads "<arch>.<key>" values with errors that name the file and the key.
class Meta {
 public:
  Meta(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

  const GgufValue* find(const std::string& key) const { return f_.find(arch_ + "." + key); }

  uint64_t uint(const std::string& key) const {
    const GgufValue* v = find(key);
    if (!v) fail("{}: GGUF metadata is missing '{}.{}'", f_.source, arch_, key);
    return as_uint(key, *v);
  }
  uint64_t uint(const std::string& key, uint64_t dflt) const {
    const GgufValue* v = find(key);
    return v ? as_uint(key, *v) : dflt;
  }
  uint64_t positive(const std::string& key) const {
    const uint64_t v = uint(key);
    if (v == 0) fail("{}: GGUF metadata '{}.{}' must be positive", f_.source, arch_, key);
    return v;
  }
  double number(const std::string& key, double dflt) const {
    const GgufValue* v = find(key);
    if (!v) return dflt;
    if (!v->is_number())
      fail("{}: GGUF metadata '{}.{}' must be a number, not {}", f_.source, arch_, key,
           gguf_type_name(v->type));
    // f32 values as their shortest decimal (1e-06 rather than 9.99999997e-07)
    return v->type == GgufType::F32 ? short_decimal(v->as_double()) : v->as_double();
  }
  bool boolean(const std::string& key, bool dflt) const {
    const GgufValue* v = find(key);
    if (!v) return dflt;
    if (const bool* b = v->as_bool()) return *b;
    if (v->is_integer()) return as_uint(key, *v) != 0;
    fail("{}: GGUF metadata '{}.{}' must be a bool", f_.source, arch_, key);
  }
  std::string string(const std::string& key, const std::string& dflt) const {
    const GgufValue* v = find(key);
    if (!v) return dflt;
    if (const std::string* s = v->as_string()) return *s;
    fail("{}: GGUF metadata '{}.{}' must be a string", f_.source, arch_, key);
  }
  // Fits in the int64 the models use, with room for products of a few of them.
  static constexpr uint64_t kMaxDim = uint64_t(1) << 40;

  static double short_decimal(double x) {
    if (!std::isfinite(x)) return x;
    return std::strtod(fmt::format("{}", float(x)).c_str(), nullptr);
  }

 private:
  uint64_t as_uint(const std::string& key, const GgufValue& v) const {
    uint64_t x;
    try {
      x = v.as_uint();
    } catch (const Error& e) {
      fail("{}: GGUF metadata '{}.{}': {}", f_.source, arch_, key, e.what());
    }
    if (x > kMaxDim) fail("{}: GGUF metadata '{}.{}' = {} is implausibly large", f_.source, arch_, key, x);
    return x;
  }
  const GgufFile& f_;
  std::string arch_;
};

int64_t vocab_size(const GgufFile& f, const Meta& m) {
  if (m.find("vocab_size")) return int64_t(m.positive("vocab_size"));
  if (const GgufValue* toks = f.find("tokenizer.ggml.tokens"))
    if (const GgufArray* a = toks->as_array(); a && a->items.size() + a->skipped > 0)
      return int64_t(a->items.size() + a->skipped);
  if (const GgufTensorInfo* t = f.find_tensor("token_embd.weight"); t && t->ne.size() == 2)
    return t->ne[1];
  fail("{}: cannot tell the vocabulary size (no vocab_size, token list or token_embd.weight)",
       f.source);
}

void common_fields(const GgufFile& f, const Meta& m, json& c) {
  c["hidden_size"] = m.positive("embedding_length");
  c["num_attention_heads"] = m.positive("attention.head_count");
  c["max_position_embeddings"] = m.uint("context_length", 4096);
  c["rms_norm_eps"] = m.number("attention.layer_norm_rms_epsilon", 1e-6);
  c["rope_theta"] = m.number("rope.freq_base", 10000.0);
  c["vocab_size"] = vocab_size(f, m);
  c["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
  if (const GgufValue* v = f.find("tokenizer.ggml.bos_token_id"); v && v->is_integer())
    c["bos_token_id"] = v->as_int();
  if (const GgufValue* v = f.find("tokenizer.ggml.eos_token_id"); v && v->is_integer())
    c["eos_token_id"] = v->as_int();
}

// rope_scaling for a YaRN file; DeepSeek also carries the mscale.
void rope_scaling(const GgufFile& f, const Meta& m, bool deepseek, json& c) {
  const std::string type = m.string("rope.scaling.type", "none");
  if (type == "none" || type.empty()) return;
  const double factor = m.number("rope.scaling.factor", 0.0);
  if (type == "linear") {
    c["rope_scaling"] = {{"type", "linear"}, {"factor", factor}};
    return;
  }
  if (type != "yarn") fail("{}: rope scaling type '{}' is not supported", f.source, type);
  json rs = {{"type", "yarn"},
             {"factor", factor},
             {"original_max_position_embeddings", m.uint("rope.scaling.original_context_length",
                                                         c["max_position_embeddings"].get<uint64_t>())},
             {"beta_fast", m.number("rope.scaling.yarn_beta_fast", 32.0)},
             {"beta_slow", m.number("rope.scaling.yarn_beta_slow", 1.0)}};
  if (deepseek) {
    const double mscale = Meta::short_decimal(m.number("rope.scaling.yarn_log_multiplier", 0.0) / 0.1);
    rs["mscale"] = mscale;
    rs["mscale_all_dim"] = mscale;
  }
  c["rope_scaling"] = rs;
}

json qwen2_config(const GgufFile& f, const Meta& m) {
  json c = {{"model_type", "qwen2"}, {"architectures", {"Qwen2ForCausalLM"}}};
  c["num_hidden_layers"] = m.positive("block_count");
  common_fields(f, m, c);
  c["intermediate_size"] = m.positive("feed_forward_length");
  c["num_key_value_heads"] = m.uint("attention.head_count_kv", c["num_attention_heads"].get<uint64_t>());
  rope_scaling(f, m, false, c);
  return c;
}

bool has_exp_probs_b(const GgufFile& f) {
  for (const GgufTensorInfo& t : f.tensors)
    if (t.name.size() > 17 && t.name.ends_with(".exp_probs_b.bias")) return true;
  return false;
}

json deepseek2_config(const GgufFile& f, const Meta& m) {
  const uint64_t gating = m.uint("expert_gating_func", 0);
  if (gating > 2) fail("{}: expert_gating_func {} is not supported (1 softmax, 2 sigmoid)", f.source, gating);
  const bool probs_b = has_exp_probs_b(f);
  const bool v3 = gating == 2 || probs_b;
  json c = {{"model_type", v3 ? "deepseek_v3" : "deepseek_v2"},
            {"architectures", {v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM"}}};
  common_fields(f, m, c);
  const uint64_t nextn = m.uint("nextn_predict_layers", 0);
  const uint64_t blocks = m.positive("block_count");
  if (nextn >= blocks) fail("{}: nextn_predict_layers {} >= block_count {}", f.source, nextn, blocks);
  c["num_hidden_layers"] = blocks - nextn;
  c["num_nextn_predict_layers"] = nextn;
  c["intermediate_size"] = m.uint("feed_forward_length", 0);

  const uint64_t q_lora = m.uint("attention.q_lora_rank", 0);
  c["q_lora_rank"] = q_lora ? json(q_lora) : json(nullptr);
  c["kv_lora_rank"] = m.positive("attention.kv_lora_rank");
  const uint64_t rope = m.positive("rope.dimension_count");
  c["qk_rope_head_dim"] = rope;
  // Newer files describe attention as MQA over the latent (key_length = kv_lora + rope,
  // head_count_kv = 1) and keep the per-head sizes in *_mla.
  const bool mla_keys = m.find("attention.key_length_mla") != nullptr;
  const uint64_t key_len = m.positive(mla_keys ? "attention.key_length_mla" : "attention.key_length");
  const uint64_t value_len = m.positive(mla_keys ? "attention.value_length_mla" : "attention.value_length");
  if (key_len <= rope)
    fail("{}: attention key length {} leaves no room beside rope dimension {}", f.source, key_len, rope);
  c["qk_nope_head_dim"] = key_len - rope;
  c["v_head_dim"] = value_len;
  c["num_key_value_heads"] = mla_keys ? c["num_attention_heads"].get<uint64_t>()
                                      : m.uint("attention.head_count_kv", c["num_attention_heads"].get<uint64_t>());

  c["n_routed_experts"] = m.uint("expert_count", 0);
  c["num_experts_per_tok"] = m.uint("expert_used_count", 0);
  c["n_shared_experts"] = m.uint("expert_shared_count", 0);
  c["moe_intermediate_size"] = m.uint("expert_feed_forward_length", 0);
  c["first_k_dense_replace"] = m.uint("leading_dense_block_count", 0);
  c["moe_layer_freq"] = 1;
  c["routed_scaling_factor"] = m.number("expert_weights_scale", 1.0);
  c["norm_topk_prob"] = m.boolean("expert_weights_norm", false);
  c["scoring_func"] = gating == 2 ? "sigmoid" : "softmax";
  const uint64_t groups = m.uint("expert_group_count", 1);
  const uint64_t groups_used = m.uint("expert_group_used_count", groups);
  c["n_group"] = groups;
  c["topk_group"] = groups_used;
  c["topk_method"] = probs_b ? "noaux_tc" : groups > 1 ? "group_limited_greedy" : "greedy";
  rope_scaling(f, m, true, c);
  return c;
}

}  // namespace

json gguf_config_json(const GgufFile& f) {
  const GgufValue* a = f.find("general.architecture");
  if (!a) fail("{}: GGUF metadata has no general.architecture", f.source);
  const std::string* arch = a->as_string();
  if (!arch) fail("{}: general.architecture must be a string", f.source);
  Meta m(f, *arch);
  if (*arch == "qwen2") return qwen2_config(f, m);
  if (*arch == "deepseek2") return deepseek2_config(f, m);
  fail("{}: unsupported GGUF architecture '{}' (sputnik runs qwen2 and deepseek2)", f.source, *arch);
}

namespace {

// HF config fields with errors naming the source.
class Hf {
 public:
  Hf(const json& j, const std::string& source) : j_(j), source_(source) {}
  const json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  uint32_t u32(const char* key) const {
    const json* v = find(key);
    if (!v) fail("{}: config.json is missing '{}'", source_, key);
    if (!v->is_number_integer() || v->get<int64_t>() < 0 || v->get<int64_t>() > int64_t(UINT32_MAX))
      fail("{}: config field '{}' must be a non-negative integer", source_, key);
    return v->get<uint32_t>();
  }
  uint32_t u32(const char* key, uint32_t dflt) const { return find(key) ? u32(key) : dflt; }
  float f32(const char* key, double dflt) const {
    const json* v = find(key);
    if (!v) return float(dflt);
    if (!v->is_number()) fail("{}: config field '{}' must be a number", source_, key);
    return v->get<float>();
  }
  std::string str(const char* key, const std::string& dflt) const {
    const json* v = find(key);
    if (!v) return dflt;
    if (!v->is_string()) fail("{}: config field '{}' must be a string", source_, key);
    return v->get<std::string>();
  }
  bool boolean(const char* key, bool dflt) const {
    const json* v = find(key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail("{}: config field '{}' must be true or false", source_, key);
    return v->get<bool>();
  }

 private:
  const json& j_;
  const std::string& source_;
};

}  // namespace

std::vector<GgufKv> hf_config_to_gguf(const json& config, const std::string& source, std::string* arch_out) {
  if (!config.is_object()) fail("{}: config.json is not an object", source);
  Hf h(config, source);
  const std::string model_type = h.str("model_type", "");
  std::string arch;
  if (model_type == "qwen2") arch = "qwen2";
  else if (model_type == "deepseek_v2" || model_type == "deepseek_v3") arch = "deepseek2";
  else fail("{}: model_type '{}' cannot be written as GGUF (qwen2, deepseek_v2, deepseek_v3)", source, model_type);
  if (arch_out) *arch_out = arch;

  std::vector<GgufKv> kv;
  auto put = [&](const std::string& key, GgufValue v) { kv.emplace_back(arch + "." + key, std::move(v)); };
  // The order llama.cpp's converter uses (Model.set_gguf_parameters, then the model's own).
  put("block_count", GgufValue::u32(h.u32("num_hidden_layers")));
  if (h.find("max_position_embeddings")) put("context_length", GgufValue::u32(h.u32("max_position_embeddings")));
  put("embedding_length", GgufValue::u32(h.u32("hidden_size")));
  if (h.find("intermediate_size")) put("feed_forward_length", GgufValue::u32(h.u32("intermediate_size")));
  put("attention.head_count", GgufValue::u32(h.u32("num_attention_heads")));
  if (h.find("num_key_value_heads")) put("attention.head_count_kv", GgufValue::u32(h.u32("num_key_value_heads")));
  put("rope.freq_base", GgufValue::f32(h.f32("rope_theta", 10000.0)));
  put("attention.layer_norm_rms_epsilon", GgufValue::f32(h.f32("rms_norm_eps", 1e-6)));
  if (h.find("num_experts_per_tok")) put("expert_used_count", GgufValue::u32(h.u32("num_experts_per_tok")));

  const json* rs = h.find("rope_scaling");
  const bool yarn = rs && rs->is_object() && rs->value("type", rs->value("rope_type", "")) == "yarn" &&
                    rs->contains("factor");
  if (rs && !rs->is_object()) fail("{}: config field 'rope_scaling' must be an object", source);
  const json rope_scaling = yarn ? *rs : json::object();
  Hf r(rope_scaling, source);

  if (arch == "qwen2") {
    // The converter leaves this to the token list; written anyway so a file without a
    // tokenizer still says its vocabulary size (llama.cpp reads it when present).
    put("vocab_size", GgufValue::u32(h.u32("vocab_size")));
    if (yarn) {
      put("rope.scaling.type", GgufValue::str("yarn"));
      put("rope.scaling.factor", GgufValue::f32(r.f32("factor", 1.0)));
      put("rope.scaling.original_context_length",
          GgufValue::u32(r.u32("original_max_position_embeddings", h.u32("max_position_embeddings", 0))));
    }
    return kv;
  }

  put("leading_dense_block_count", GgufValue::u32(h.u32("first_k_dense_replace", 0)));
  put("vocab_size", GgufValue::u32(h.u32("vocab_size")));
  if (h.find("q_lora_rank")) put("attention.q_lora_rank", GgufValue::u32(h.u32("q_lora_rank")));
  put("attention.kv_lora_rank", GgufValue::u32(h.u32("kv_lora_rank")));
  put("attention.key_length", GgufValue::u32(h.u32("qk_nope_head_dim") + h.u32("qk_rope_head_dim")));
  put("attention.value_length", GgufValue::u32(h.u32("v_head_dim")));
  put("expert_feed_forward_length", GgufValue::u32(h.u32("moe_intermediate_size", 0)));
  put("expert_count", GgufValue::u32(h.u32("n_routed_experts", 0)));
  put("expert_shared_count", GgufValue::u32(h.u32("n_shared_experts", 0)));
  put("expert_weights_scale", GgufValue::f32(h.f32("routed_scaling_factor", 1.0)));
  put("expert_weights_norm", GgufValue::boolean(h.boolean("norm_topk_prob", false)));
  const std::string scoring = h.str("scoring_func", model_type == "deepseek_v3" ? "sigmoid" : "softmax");
  if (scoring != "softmax" && scoring != "sigmoid")
    fail("{}: scoring_func '{}' is not supported", source, scoring);
  put("expert_gating_func", GgufValue::u32(scoring == "sigmoid" ? 2 : 1));
  put("rope.dimension_count", GgufValue::u32(h.u32("qk_rope_head_dim")));
  if (yarn) {
    put("rope.scaling.type", GgufValue::str("yarn"));
    put("rope.scaling.factor", GgufValue::f32(r.f32("factor", 1.0)));
    put("rope.scaling.original_context_length",
        GgufValue::u32(r.u32("original_max_position_embeddings", h.u32("max_position_embeddings", 0))));
  }
  put("rope.scaling.yarn_log_multiplier",
      GgufValue::f32(yarn && r.find("mscale_all_dim") && r.find("mscale_all_dim")->is_number()
                         ? float(0.1 * r.find("mscale_all_dim")->get<double>())
                         : 0.0f));
  return kv;
}

}  // namespace sputnik
