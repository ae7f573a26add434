"""Independent float32 PyTorch reference for the models sputnik runs.

Written from the Hugging Face modeling code's semantics (Qwen2, DeepSeek-V2/V3), not from
sputnik's C++: plain (non-absorbed) MLA, full causal attention over the whole sequence, routing
with torch.topk. Reads a Hugging Face folder with its own small safetensors parser.

    /usr/bin/python3 reference.py MODEL_DIR 1,2,3     # prints one JSON array of logits per line
"""
import json
import math
import os
import struct
import sys

import torch

# ---------------------------------------------------------------------------------------------
# Checkpoint reading


def fp8_e4m3_table():
    """All 256 float8 e4m3fn values (1 sign, 4 exponent bits with bias 7, 3 mantissa bits)."""
    values = []
    for byte in range(256):
        sign = -1.0 if byte & 0x80 else 1.0
        exp = (byte >> 3) & 0xF
        man = byte & 0x7
        if exp == 0xF and man == 0x7:
            values.append(float("nan"))
        elif exp == 0:
            values.append(sign * man / 8.0 * 2.0 ** -6)
        else:
            values.append(sign * (1.0 + man / 8.0) * 2.0 ** (exp - 7))
    return torch.tensor(values, dtype=torch.float32)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[base + begin : base + end])
        dtype = info["dtype"]
        if dtype == "F32":
            t = torch.frombuffer(raw, dtype=torch.float32)
        elif dtype == "F16":
            t = torch.frombuffer(raw, dtype=torch.float16).float()
        elif dtype == "BF16":
            t = torch.frombuffer(raw, dtype=torch.bfloat16).float()
        elif dtype == "F8_E4M3":
            t = fp8_e4m3_table()[torch.frombuffer(raw, dtype=torch.uint8).long()]
        else:
            raise ValueError(f"{path}: dtype {dtype} not handled by the reference")
        out[name] = t.reshape(info["shape"]).clone()
    return out


def load_folder(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    tensors = {}
    for name in files:
        tensors.update(read_safetensors(os.path.join(folder, name)))
    # DeepSeek FP8: weight * scale_inv broadcast over weight_block_size tiles.
    block = (config.get("quantization_config") or {}).get("weight_block_size", [128, 128])
    for name in [n for n in tensors if n.endswith("_scale_inv")]:
        scale = tensors.pop(name)
        wname = name[: -len("_scale_inv")]
        w = tensors[wname]
        full = scale.repeat_interleave(block[0], 0).repeat_interleave(block[1], 1)
        tensors[wname] = w * full[: w.shape[0], : w.shape[1]]
    return config, tensors


# ---------------------------------------------------------------------------------------------
# Building blocks


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return x * torch.rsqrt(variance + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def yarn_get_mscale(scale, mscale=1.0):
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def yarn_inv_freq(dim, base, factor, original_max_pos, beta_fast, beta_slow):
    def correction_dim(rotations):
        return (dim * math.log(original_max_pos / (rotations * 2 * math.pi))) / (2 * math.log(base))

    low = max(math.floor(correction_dim(beta_fast)), 0)
    high = min(math.ceil(correction_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    extrapolation = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    interpolation = 1.0 / (factor * base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    keep = 1.0 - ramp
    return interpolation * (1 - keep) + extrapolation * keep


def rope_cos_sin(inv_freq, n, mult):
    t = torch.arange(n, dtype=torch.float32)
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos() * mult, emb.sin() * mult


def apply_rope(x, cos, sin, interleaved):
    """x: [heads, seq, dim]. DeepSeek checkpoints store rope dims interleaved: HF de-interleaves
    (pairs (2i, 2i+1) -> (i, i + d/2)) before the rotate_half rotation."""
    if interleaved:
        h, s, d = x.shape
        x = x.view(h, s, d // 2, 2).transpose(3, 2).reshape(h, s, d)
    return x * cos + rotate_half(x) * sin


def swiglu_mlp(x, w, prefix):
    gate = x @ w[prefix + ".gate_proj.weight"].T
    up = x @ w[prefix + ".up_proj.weight"].T
    return (torch.nn.functional.silu(gate) * up) @ w[prefix + ".down_proj.weight"].T


def causal_attention(q, k, v, scale):
    """q, k: [heads, seq, dk]; v: [heads, seq, dv]."""
    n = q.shape[1]
    scores = (q @ k.transpose(1, 2)) * scale
    mask = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


# ---------------------------------------------------------------------------------------------
# Qwen2


def qwen2_logits(cfg, w, tokens, wrong_rope=False, no_yarn=False):
    n = len(tokens)
    hidden = cfg["hidden_size"]
    n_heads = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_heads)
    head_dim = cfg.get("head_dim", hidden // n_heads)
    eps = cfg.get("rms_norm_eps", 1e-6)
    base = cfg.get("rope_theta", 10000.0)
    rs = None if no_yarn else cfg.get("rope_scaling")
    if rs and rs.get("type", rs.get("rope_type")) == "yarn":
        factor = rs["factor"]
        orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        inv_freq = yarn_inv_freq(head_dim, base, factor, orig, rs.get("beta_fast") or 32,
                                 rs.get("beta_slow") or 1)
        mult = rs.get("attention_factor")
        if mult is None:
            if rs.get("mscale") and rs.get("mscale_all_dim"):
                mult = yarn_get_mscale(factor, rs["mscale"]) / yarn_get_mscale(factor, rs["mscale_all_dim"])
            else:
                mult = yarn_get_mscale(factor)
    else:
        inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        mult = 1.0
    cos, sin = rope_cos_sin(inv_freq, n, mult)

    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = h @ w[p + "self_attn.q_proj.weight"].T + w[p + "self_attn.q_proj.bias"]
        k = h @ w[p + "self_attn.k_proj.weight"].T + w[p + "self_attn.k_proj.bias"]
        v = h @ w[p + "self_attn.v_proj.weight"].T + w[p + "self_attn.v_proj.bias"]
        q = q.view(n, n_heads, head_dim).transpose(0, 1)
        k = k.view(n, n_kv, head_dim).transpose(0, 1)
        v = v.view(n, n_kv, head_dim).transpose(0, 1)
        q = apply_rope(q, cos, sin, interleaved=wrong_rope)
        k = apply_rope(k, cos, sin, interleaved=wrong_rope)
        group = n_heads // n_kv
        k = k.repeat_interleave(group, dim=0)
        v = v.repeat_interleave(group, dim=0)
        o = causal_attention(q, k, v, 1.0 / math.sqrt(head_dim))
        o = o.transpose(0, 1).reshape(n, n_heads * head_dim)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        x = x + swiglu_mlp(h, w, p + "mlp")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


# ---------------------------------------------------------------------------------------------
# DeepSeek-V2 / V3


def deepseek_moe(cfg, w, prefix, x, v3, bias_in_mix=False, ungrouped=False):
    n_exp = cfg["n_routed_experts"]
    top_k = cfg["num_experts_per_tok"]
    logits = x @ w[prefix + ".gate.weight"].T
    scoring = cfg.get("scoring_func", "sigmoid" if v3 else "softmax")
    scores = logits.sigmoid() if scoring == "sigmoid" else logits.softmax(dim=-1)
    method = cfg.get("topk_method", "noaux_tc" if v3 else "greedy")
    bias_name = prefix + ".gate.e_score_correction_bias"
    choice = scores + w[bias_name] if bias_name in w else scores
    if method in ("group_limited_greedy", "noaux_tc") and not ungrouped:
        n_group, topk_group = cfg["n_group"], cfg["topk_group"]
        grouped = choice.view(len(x), n_group, -1)
        if method == "noaux_tc":
            group_scores = grouped.topk(2, dim=-1)[0].sum(dim=-1)
        else:
            group_scores = grouped.max(dim=-1).values
        group_idx = torch.topk(group_scores, k=topk_group, dim=-1)[1]
        group_mask = torch.zeros_like(group_scores).scatter_(1, group_idx, 1)
        score_mask = group_mask.unsqueeze(-1).expand(len(x), n_group, n_exp // n_group).reshape(len(x), -1)
        # Experts outside the chosen groups can never win (-inf, as DeepSeek's own inference code
        # masks; HF's remote code fills 0.0, which differs only if in-group biased scores go < 0).
        choice = choice.masked_fill(score_mask == 0, float("-inf"))
    topk_idx = torch.topk(choice, k=top_k, dim=-1)[1]
    topk_weight = (choice if bias_in_mix else scores).gather(1, topk_idx)
    normalize = top_k > 1 and cfg.get("norm_topk_prob", False)
    if normalize:
        topk_weight = topk_weight / (topk_weight.sum(dim=-1, keepdim=True) + 1e-20)
    if v3 or not normalize:  # HF V2 scales only unnormalized weights; V3 always scales
        topk_weight = topk_weight * cfg.get("routed_scaling_factor", 1.0)

    out = torch.zeros_like(x)
    for t in range(len(x)):
        for j in range(top_k):
            e = int(topk_idx[t, j])
            out[t] += topk_weight[t, j] * swiglu_mlp(x[t : t + 1], w, f"{prefix}.experts.{e}")[0]
    if cfg.get("n_shared_experts"):
        out = out + swiglu_mlp(x, w, prefix + ".shared_experts")
    return out


def deepseek_logits(cfg, w, tokens, wrong_rope=False, bias_in_mix=False, no_yarn=False,
                    no_softmax_mscale=False, ungrouped=False):
    """The keyword flags are deliberate mistakes: the tests check they change the logits."""
    n = len(tokens)
    v3 = cfg["model_type"] == "deepseek_v3"
    n_heads = cfg["num_attention_heads"]
    nope, rope_dim, v_dim = cfg["qk_nope_head_dim"], cfg["qk_rope_head_dim"], cfg["v_head_dim"]
    kv_lora = cfg["kv_lora_rank"]
    eps = cfg.get("rms_norm_eps", 1e-6)
    base = cfg.get("rope_theta", 10000.0)
    scale = (nope + rope_dim) ** -0.5
    rs = None if no_yarn else cfg.get("rope_scaling")
    if rs and rs.get("type") == "yarn":
        factor = rs["factor"]
        inv_freq = yarn_inv_freq(rope_dim, base, factor, rs.get("original_max_position_embeddings", 4096),
                                 rs.get("beta_fast", 32), rs.get("beta_slow", 1))
        mult = yarn_get_mscale(factor, rs.get("mscale", 1)) / yarn_get_mscale(factor, rs.get("mscale_all_dim", 0))
        if rs.get("mscale_all_dim", 0) and not no_softmax_mscale:
            m = yarn_get_mscale(factor, rs["mscale_all_dim"])
            scale = scale * m * m
    else:
        inv_freq = 1.0 / (base ** (torch.arange(0, rope_dim, 2, dtype=torch.float32) / rope_dim))
        mult = 1.0
    cos, sin = rope_cos_sin(inv_freq, n, mult)

    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        # Queries, optionally through the low-rank q_a / q_b pair.
        if cfg.get("q_lora_rank"):
            q = rms_norm(h @ w[p + "self_attn.q_a_proj.weight"].T, w[p + "self_attn.q_a_layernorm.weight"], eps)
            q = q @ w[p + "self_attn.q_b_proj.weight"].T
        else:
            q = h @ w[p + "self_attn.q_proj.weight"].T
        q = q.view(n, n_heads, nope + rope_dim).transpose(0, 1)
        q_nope, q_pe = q[..., :nope], q[..., nope:]
        # Keys/values: compressed latent plus one shared rope key, expanded per head by kv_b_proj.
        ckv = h @ w[p + "self_attn.kv_a_proj_with_mqa.weight"].T
        latent, k_pe = ckv[:, :kv_lora], ckv[:, kv_lora:]
        k_pe = k_pe.view(1, n, rope_dim)
        kv = rms_norm(latent, w[p + "self_attn.kv_a_layernorm.weight"], eps) @ w[p + "self_attn.kv_b_proj.weight"].T
        kv = kv.view(n, n_heads, nope + v_dim).transpose(0, 1)
        k_nope, v = kv[..., :nope], kv[..., nope:]
        interleaved = not wrong_rope
        q_pe = apply_rope(q_pe, cos, sin, interleaved)
        k_pe = apply_rope(k_pe, cos, sin, interleaved)
        q = torch.cat([q_nope, q_pe], dim=-1)
        k = torch.cat([k_nope, k_pe.expand(n_heads, n, rope_dim)], dim=-1)
        o = causal_attention(q, k, v, scale).transpose(0, 1).reshape(n, n_heads * v_dim)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        is_moe = (cfg.get("n_routed_experts") and layer >= cfg.get("first_k_dense_replace", 0)
                  and layer % cfg.get("moe_layer_freq", 1) == 0)
        if is_moe:
            x = x + deepseek_moe(cfg, w, p + "mlp", h, v3, bias_in_mix, ungrouped)
        else:
            x = x + swiglu_mlp(h, w, p + "mlp")
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def logits(folder, tokens, **perturb):
    cfg, w = load_folder(folder)
    with torch.no_grad():
        if cfg["model_type"] == "qwen2":
            return qwen2_logits(cfg, w, tokens, **perturb)
        return deepseek_logits(cfg, w, tokens, **perturb)


if __name__ == "__main__":
    out = logits(sys.argv[1], [int(t) for t in sys.argv[2].split(",")])
    for row in out:
        print(json.dumps([float(v) for v in row]))
