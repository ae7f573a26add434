#include "models/decode_bytes.h"

#include <cstdlib>
#include <string>

#include "models/mla.h"

namespace sputnik {

double decode_weight_bytes(const Model& model) {
  const ModelConfig& c = model.config();
  const WeightStore& ws = model.weights();
  const bool head_is_embedding = c.tie_word_embeddings || !ws.contains("lm_head.weight");
  const std::string layers = "model.layers.";
  double bytes = 0;
  for (const std::string& name : ws.names()) {
    const TensorView& t = ws.get(name);
    const double all = double(t.nbytes);
    if (name == "model.embed_tokens.weight") {
      bytes += head_is_embedding || t.rows() <= 0 ? all : all / double(t.rows());
      continue;
    }
    if (name.rfind(layers, 0) != 0) {
      bytes += all;
      continue;
    }
    const int64_t layer = std::atoll(name.c_str() + layers.size());
    if (layer >= c.num_hidden_layers) continue;  // MTP
    if (c.n_routed_experts > 0 && c.is_moe_layer(layer) && name.find(".mlp.experts.") != std::string::npos) {
      bytes += all * double(c.num_experts_per_tok) / double(c.n_routed_experts);
      continue;
    }
    if (name.ends_with(".self_attn.kv_b_proj.weight")) {
      const int64_t nh = c.num_attention_heads, nope = c.qk_nope_head_dim, vd = c.v_head_dim;
      const DType kt = Mla::absorbed_key_dtype(t.dtype, nope);
      bytes += all * double(vd) / double(nope + vd) + double(nh * c.kv_lora_rank) * double(dtype_bytes(kt, nope));
      continue;
    }
    bytes += all;
  }
  return bytes;
}

}  // namespace sputnik
