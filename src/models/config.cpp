#include "models/config.h"

#include <optional>

#include "core/error.h"

namespace sputnik {
namespace {

using nlohmann::json;

// Field access that treats `null` like an absent key (HF writes "q_lora_rank": null) and turns
// type mismatches into Errors naming the field.
class Fields {
 public:
  Fields(const json& j, const std::string& source) : j_(j), source_(source) {}

  const json* find(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  int64_t integer(const char* key) const {
    const json* v = find(key);
    if (!v) fail("{}: config.json is missing required field '{}'", source_, key);
    return as_int(key, *v);
  }
  int64_t integer(const char* key, int64_t dflt) const {
    const json* v = find(key);
    return v ? as_int(key, *v) : dflt;
  }
  int64_t positive(const char* key) const {
    int64_t v = integer(key);
    if (v <= 0) fail("{}: config field '{}' must be positive, got {}", source_, key, v);
    return v;
  }
  double number(const char* key, double dflt) const {
    const json* v = find(key);
    if (!v) return dflt;
    if (!v->is_number()) fail("{}: config field '{}' must be a number", source_, key);
    return v->get<double>();
  }
  bool boolean(const char* key, bool dflt) const {
    const json* v = find(key);
    if (!v) return dflt;
    if (!v->is_boolean()) fail("{}: config field '{}' must be true or false", source_, key);
    return v->get<bool>();
  }
  std::string string(const char* key, const std::string& dflt) const {
    const json* v = find(key);
    if (!v) return dflt;
    if (!v->is_string()) fail("{}: config field '{}' must be a string", source_, key);
    return v->get<std::string>();
  }

 private:
  int64_t as_int(const char* key, const json& v) const {
    if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>();
    if (v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>())))
      return int64_t(v.get<double>());
    fail("{}: config field '{}' must be an integer", source_, key);
  }
  const json& j_;
  const std::string& source_;
};

void parse_rope_scaling(const Fields& f, ModelConfig& c, const std::string& source) {
  const json* rs = f.find("rope_scaling");
  if (!rs) return;
  if (!rs->is_object()) fail("{}: config field 'rope_scaling' must be an object", source);
  Fields r(*rs, source);
  std::string type = r.string("type", r.string("rope_type", ""));
  if (type == "default" || type.empty()) return;
  if (type != "yarn")
    fail("{}: rope_scaling type '{}' is not supported (only yarn)", source, type);
  YarnConfig& y = c.yarn;
  y.enabled = true;
  y.factor = r.number("factor", 0);
  if (!(y.factor >= 1.0)) fail("{}: rope_scaling.factor must be >= 1", source);
  // HF DeepSeek's YaRN class defaults to 4096; transformers' (Qwen2) to max_position_embeddings.
  y.original_max_position_embeddings = r.integer(
      "original_max_position_embeddings", c.is_deepseek() ? 4096 : c.max_position_embeddings);
  if (y.original_max_position_embeddings <= 0)
    fail("{}: rope_scaling needs 'original_max_position_embeddings'", source);
  y.beta_fast = r.number("beta_fast", 32.0);
  y.beta_slow = r.number("beta_slow", 1.0);
  y.has_mscale = r.find("mscale") != nullptr;
  y.has_mscale_all_dim = r.find("mscale_all_dim") != nullptr;
  y.mscale = r.number("mscale", 1.0);
  y.mscale_all_dim = r.number("mscale_all_dim", 0.0);
  y.attention_factor = r.number("attention_factor", 0.0);
}

void parse_deepseek(const Fields& f, ModelConfig& c, const std::string& source) {
  c.q_lora_rank = f.integer("q_lora_rank", 0);
  if (c.q_lora_rank < 0) fail("{}: config field 'q_lora_rank' must not be negative", source);
  c.kv_lora_rank = f.positive("kv_lora_rank");
  c.qk_nope_head_dim = f.positive("qk_nope_head_dim");
  c.qk_rope_head_dim = f.positive("qk_rope_head_dim");
  c.v_head_dim = f.positive("v_head_dim");
  if (c.qk_rope_head_dim % 2) fail("{}: qk_rope_head_dim must be even", source);
  c.attention_bias = f.boolean("attention_bias", false);

  c.n_routed_experts = f.integer("n_routed_experts", 0);
  if (c.n_routed_experts < 0) fail("{}: n_routed_experts must not be negative", source);
  c.first_k_dense_replace = f.integer("first_k_dense_replace", 0);
  c.moe_layer_freq = f.integer("moe_layer_freq", 1);
  if (c.moe_layer_freq <= 0) fail("{}: moe_layer_freq must be positive", source);
  c.num_nextn_predict_layers = f.integer("num_nextn_predict_layers", 0);
  if (c.num_nextn_predict_layers < 0) fail("{}: num_nextn_predict_layers must not be negative", source);
  bool any_dense = false;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) any_dense |= !c.is_moe_layer(l);
  if (any_dense || c.num_nextn_predict_layers > 0) c.intermediate_size = f.positive("intermediate_size");
  if (c.n_routed_experts == 0) return;

  c.num_experts_per_tok = f.positive("num_experts_per_tok");
  c.moe_intermediate_size = f.positive("moe_intermediate_size");
  c.n_shared_experts = f.integer("n_shared_experts", 0);
  if (c.n_shared_experts < 0) fail("{}: n_shared_experts must not be negative", source);
  const bool v3 = c.arch == Arch::DeepSeekV3;
  std::string scoring = f.string("scoring_func", v3 ? "sigmoid" : "softmax");
  if (scoring == "softmax") c.scoring_func = ScoringFunc::Softmax;
  else if (scoring == "sigmoid") c.scoring_func = ScoringFunc::Sigmoid;
  else fail("{}: scoring_func '{}' is not supported (softmax or sigmoid)", source, scoring);
  std::string topk = f.string("topk_method", v3 ? "noaux_tc" : "greedy");
  if (topk == "greedy") c.topk_method = TopkMethod::Greedy;
  else if (topk == "group_limited_greedy") c.topk_method = TopkMethod::GroupLimitedGreedy;
  else if (topk == "noaux_tc") c.topk_method = TopkMethod::NoAuxTc;
  else fail("{}: topk_method '{}' is not supported", source, topk);
  c.n_group = f.integer("n_group", 1);
  c.topk_group = f.integer("topk_group", c.n_group);
  c.norm_topk_prob = f.boolean("norm_topk_prob", false);
  c.routed_scaling_factor = f.number("routed_scaling_factor", 1.0);
  if (c.num_experts_per_tok > c.n_routed_experts)
    fail("{}: num_experts_per_tok {} exceeds n_routed_experts {}", source, c.num_experts_per_tok,
         c.n_routed_experts);
  if (c.topk_method != TopkMethod::Greedy) {
    if (c.n_group <= 0 || c.n_routed_experts % c.n_group)
      fail("{}: n_group {} must divide n_routed_experts {}", source, c.n_group, c.n_routed_experts);
    if (c.topk_group <= 0 || c.topk_group > c.n_group)
      fail("{}: topk_group {} must be in [1, n_group {}]", source, c.topk_group, c.n_group);
    if (c.topk_group * (c.n_routed_experts / c.n_group) < c.num_experts_per_tok)
      fail("{}: topk_group {} groups hold fewer than num_experts_per_tok {} experts", source,
           c.topk_group, c.num_experts_per_tok);
    if (c.topk_method == TopkMethod::NoAuxTc && c.n_routed_experts / c.n_group < 2)
      fail("{}: noaux_tc needs at least 2 experts per group", source);
  }
}

}  // namespace

std::string arch_name(Arch a) {
  switch (a) {
    case Arch::Qwen2: return "qwen2";
    case Arch::DeepSeekV2: return "deepseek_v2";
    case Arch::DeepSeekV3: return "deepseek_v3";
  }
  return "?";
}

int64_t ModelConfig::kv_floats_per_token_layer() const {
  if (is_deepseek()) return kv_lora_rank + qk_rope_head_dim;
  return 2 * num_key_value_heads * head_dim;
}

ModelConfig parse_model_config(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) fail("{}: config.json must be a JSON object", source);
  Fields f(j, source);
  ModelConfig c;
  c.model_type = f.string("model_type", "");
  if (c.model_type == "qwen2") c.arch = Arch::Qwen2;
  else if (c.model_type == "deepseek_v2") c.arch = Arch::DeepSeekV2;
  else if (c.model_type == "deepseek_v3") c.arch = Arch::DeepSeekV3;
  else if (c.model_type.empty()) fail("{}: config.json is missing required field 'model_type'", source);
  else fail("{}: model_type '{}' is not supported (qwen2, deepseek_v2, deepseek_v3)", source, c.model_type);

  c.vocab_size = f.positive("vocab_size");
  c.hidden_size = f.positive("hidden_size");
  c.num_hidden_layers = f.positive("num_hidden_layers");
  c.num_attention_heads = f.positive("num_attention_heads");
  c.max_position_embeddings = f.integer("max_position_embeddings", 4096);
  c.rms_norm_eps = f.number("rms_norm_eps", 1e-6);
  c.rope_theta = f.number("rope_theta", 10000.0);
  if (!(c.rope_theta > 0)) fail("{}: rope_theta must be positive", source);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", false);
  std::string act = f.string("hidden_act", "silu");
  if (act != "silu") fail("{}: hidden_act '{}' is not supported (silu)", source, act);
  parse_rope_scaling(f, c, source);

  if (c.arch == Arch::Qwen2) {
    c.intermediate_size = f.positive("intermediate_size");
    c.num_key_value_heads = f.integer("num_key_value_heads", c.num_attention_heads);
    if (c.num_key_value_heads <= 0 || c.num_attention_heads % c.num_key_value_heads)
      fail("{}: num_key_value_heads {} must divide num_attention_heads {}", source,
           c.num_key_value_heads, c.num_attention_heads);
    if (c.hidden_size % c.num_attention_heads && !f.find("head_dim"))
      fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", source, c.hidden_size,
           c.num_attention_heads);
    c.head_dim = f.integer("head_dim", c.hidden_size / c.num_attention_heads);
    if (c.head_dim <= 0 || c.head_dim % 2) fail("{}: head_dim {} must be positive and even", source, c.head_dim);
  } else {
    parse_deepseek(f, c, source);
  }
  return c;
}

}  // namespace sputnik
