"""Writes tiny random Hugging Face checkpoints (config.json + safetensors written by hand) for
every model variant sputnik supports, so the reference tests need no downloads.

    /usr/bin/python3 make_checkpoint.py VARIANT OUT_DIR
"""
import json
import os
import struct
import sys

import torch

# ---------------------------------------------------------------------------------------------
# safetensors writing: 8-byte little-endian header length, JSON header, raw row-major bytes.


def tensor_bytes(t, dtype):
    if dtype == "F32":
        return t.float().contiguous().numpy().tobytes()
    if dtype == "F16":
        return t.half().contiguous().numpy().tobytes()
    if dtype == "BF16":
        # numpy has no bfloat16: view the bits as int16.
        return t.bfloat16().contiguous().view(torch.int16).numpy().tobytes()
    if dtype == "F8_E4M3":
        return t.contiguous().numpy().tobytes()  # already uint8 codes
    raise ValueError(dtype)


def write_safetensors(path, tensors):
    """tensors: name -> (dtype, torch tensor). Also writes tests/server/make_tiny_model.py's model."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, t = tensors[name]
        raw = tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------
# FP8 e4m3 block quantization (DeepSeek-V3 release format)


def e4m3_values():
    from reference import fp8_e4m3_table  # same folder; only the decode table is shared

    return fp8_e4m3_table()


def quantize_fp8(w, block):
    """Returns (uint8 codes, f32 scale_inv [ceil(r/b0), ceil(c/b1)]) with w ≈ code * scale_inv."""
    rows, cols = w.shape
    br, bc = (rows + block[0] - 1) // block[0], (cols + block[1] - 1) // block[1]
    scale = torch.zeros(br, bc)
    for i in range(br):
        for j in range(bc):
            tile = w[i * block[0] : (i + 1) * block[0], j * block[1] : (j + 1) * block[1]]
            scale[i, j] = tile.abs().max() / 448.0
    full = scale.repeat_interleave(block[0], 0).repeat_interleave(block[1], 1)[:rows, :cols]
    table = e4m3_values()
    finite = ~torch.isnan(table)
    codes = torch.arange(256)[finite]
    vals = table[finite]
    target = (w / full).reshape(-1, 1)
    nearest = (target - vals.reshape(1, -1)).abs().argmin(dim=1)
    return codes[nearest].to(torch.uint8).reshape(rows, cols), scale


# ---------------------------------------------------------------------------------------------
# Variants


def base_qwen2(**kw):
    cfg = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 96,
        "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 128,
        "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": False,
        "hidden_act": "silu", "torch_dtype": "float32",
    }
    cfg.update(kw)
    return cfg


def base_deepseek(model_type, **kw):
    cfg = {
        "architectures": ["DeepseekV3ForCausalLM" if model_type == "deepseek_v3" else "DeepseekV2ForCausalLM"],
        "model_type": model_type, "vocab_size": 96, "hidden_size": 64, "intermediate_size": 96,
        "moe_intermediate_size": 24, "num_hidden_layers": 3, "num_attention_heads": 4,
        "num_key_value_heads": 4, "max_position_embeddings": 128, "rms_norm_eps": 1e-6,
        "rope_theta": 10000.0, "q_lora_rank": None, "kv_lora_rank": 32, "qk_nope_head_dim": 16,
        "qk_rope_head_dim": 8, "v_head_dim": 16, "n_routed_experts": 8, "num_experts_per_tok": 2,
        "n_shared_experts": 1, "first_k_dense_replace": 1, "moe_layer_freq": 1,
        "tie_word_embeddings": False, "hidden_act": "silu", "attention_bias": False,
        "torch_dtype": "float32",
    }
    cfg.update(kw)
    return cfg


VARIANTS = {
    # name: (config, dtype of matrices, shards, fp8 block or None)
    "qwen2_tied": (base_qwen2(tie_word_embeddings=True, rope_theta=1000000.0), "F32", 1, None),
    "qwen2_untied_bf16": (base_qwen2(), "BF16", 1, None),
    "qwen2_yarn": (base_qwen2(rope_theta=500.0, rope_scaling={
        "type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}), "F32", 1, None),
    "deepseek_v2": (base_deepseek(
        "deepseek_v2", scoring_func="softmax", topk_method="group_limited_greedy", n_group=2,
        topk_group=1, norm_topk_prob=False, routed_scaling_factor=1.5, n_shared_experts=2,
        num_experts_per_tok=3), "F16", 3, None),
    "deepseek_v3": (base_deepseek(
        "deepseek_v3", q_lora_rank=32, scoring_func="sigmoid", topk_method="noaux_tc", n_group=4,
        topk_group=2, norm_topk_prob=True, routed_scaling_factor=2.5, num_nextn_predict_layers=1),
        "F32", 2, None),
    "deepseek_yarn": (base_deepseek(
        "deepseek_v2", q_lora_rank=24, scoring_func="softmax", topk_method="greedy",
        norm_topk_prob=True, routed_scaling_factor=3.0, rope_theta=500.0, rope_scaling={
            "type": "yarn", "factor": 8.0, "original_max_position_embeddings": 16,
            "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.7}),
        "F32", 1, None),
    "deepseek_v3_fp8": (base_deepseek(
        "deepseek_v3", hidden_size=72, q_lora_rank=40, kv_lora_rank=36, intermediate_size=100,
        moe_intermediate_size=20, scoring_func="sigmoid", topk_method="noaux_tc", n_group=2,
        topk_group=1, norm_topk_prob=True, routed_scaling_factor=2.5,
        quantization_config={"quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic",
                             "weight_block_size": [16, 16]}), "F32", 1, [16, 16]),
}


def make_weights(cfg, gen):
    """name -> f32 tensor, HF names and shapes."""
    w = {}

    def mat(name, out, inp):
        w[name] = torch.randn(out, inp, generator=gen) / inp ** 0.5

    def vec(name, n, center=1.0, spread=0.1):
        w[name] = center + spread * torch.randn(n, generator=gen)

    def mlp(prefix, inner):
        mat(prefix + ".gate_proj.weight", inner, d)
        mat(prefix + ".up_proj.weight", inner, d)
        mat(prefix + ".down_proj.weight", d, inner)

    d, vocab = cfg["hidden_size"], cfg["vocab_size"]
    w["model.embed_tokens.weight"] = torch.randn(vocab, d, generator=gen)
    vec("model.norm.weight", d)
    if not cfg.get("tie_word_embeddings"):
        mat("lm_head.weight", vocab, d)
    n_layers = cfg["num_hidden_layers"] + cfg.get("num_nextn_predict_layers", 0)
    for layer in range(n_layers):
        p = f"model.layers.{layer}"
        vec(p + ".input_layernorm.weight", d)
        vec(p + ".post_attention_layernorm.weight", d)
        if cfg["model_type"] == "qwen2":
            hd = d // cfg["num_attention_heads"]
            for proj, heads in (("q", cfg["num_attention_heads"]), ("k", cfg["num_key_value_heads"]),
                                ("v", cfg["num_key_value_heads"])):
                mat(f"{p}.self_attn.{proj}_proj.weight", heads * hd, d)
                vec(f"{p}.self_attn.{proj}_proj.bias", heads * hd, 0.0, 0.3)
            mat(p + ".self_attn.o_proj.weight", d, cfg["num_attention_heads"] * hd)
            mlp(p + ".mlp", cfg["intermediate_size"])
            continue
        nh, nope, rope, vd = (cfg["num_attention_heads"], cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"],
                              cfg["v_head_dim"])
        lora = cfg["kv_lora_rank"]
        if cfg.get("q_lora_rank"):
            mat(p + ".self_attn.q_a_proj.weight", cfg["q_lora_rank"], d)
            vec(p + ".self_attn.q_a_layernorm.weight", cfg["q_lora_rank"])
            mat(p + ".self_attn.q_b_proj.weight", nh * (nope + rope), cfg["q_lora_rank"])
        else:
            mat(p + ".self_attn.q_proj.weight", nh * (nope + rope), d)
        mat(p + ".self_attn.kv_a_proj_with_mqa.weight", lora + rope, d)
        vec(p + ".self_attn.kv_a_layernorm.weight", lora)
        mat(p + ".self_attn.kv_b_proj.weight", nh * (nope + vd), lora)
        mat(p + ".self_attn.o_proj.weight", d, nh * vd)
        moe = cfg["n_routed_experts"] and layer >= cfg["first_k_dense_replace"]
        if moe:
            ne, inner = cfg["n_routed_experts"], cfg["moe_intermediate_size"]
            mat(p + ".mlp.gate.weight", ne, d)
            w[p + ".mlp.gate.weight"] *= 3.0  # spread the router scores so choices are clear-cut
            if cfg.get("topk_method") == "noaux_tc":
                vec(p + ".mlp.gate.e_score_correction_bias", ne, 0.0, 0.15)
            for e in range(ne):
                mlp(f"{p}.mlp.experts.{e}", inner)
            if cfg.get("n_shared_experts"):
                mlp(p + ".mlp.shared_experts", inner * cfg["n_shared_experts"])
        else:
            mlp(p + ".mlp", cfg["intermediate_size"])
        if layer >= cfg["num_hidden_layers"]:  # MTP module extras
            vec(p + ".enorm.weight", d)
            vec(p + ".hnorm.weight", d)
            mat(p + ".eh_proj.weight", d, 2 * d)
            vec(p + ".shared_head.norm.weight", d)
            mat(p + ".shared_head.head.weight", vocab, d)
            w[p + ".embed_tokens.weight"] = w["model.embed_tokens.weight"].clone()
    return w


def is_fp8_target(name, w):
    """Which tensors DeepSeek's FP8 release stores as FP8: the layers' linear weights."""
    return name.startswith("model.layers.") and w.dim() == 2 and not name.endswith(".mlp.gate.weight")


def write_checkpoint(variant, out_dir, seed=1234):
    cfg, dtype, shards, fp8_block = VARIANTS[variant]
    gen = torch.Generator().manual_seed(seed)
    weights = make_weights(cfg, gen)
    os.makedirs(out_dir, exist_ok=True)
    stored = {}
    for name, t in weights.items():
        if fp8_block and is_fp8_target(name, t):
            codes, scale_inv = quantize_fp8(t, fp8_block)
            stored[name] = ("F8_E4M3", codes)
            stored[name + "_scale_inv"] = ("F32", scale_inv)
        else:
            stored[name] = (dtype if t.dim() == 2 else "F32", t)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    if shards == 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), stored)
        return
    names = sorted(stored)
    weight_map = {}
    for s in range(shards):
        file = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: stored[n] for n in names[s::shards]}
        write_safetensors(os.path.join(out_dir, file), part)
        weight_map.update({n: file for n in part})
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)


if __name__ == "__main__":
    write_checkpoint(sys.argv[1], sys.argv[2])
