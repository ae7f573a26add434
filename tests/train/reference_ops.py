#!/usr/bin/python3
"""Independent PyTorch (autograd, float64) reference for sputnik's training ops.

Runs train_ops_driver, which writes each op's inputs (in.*), upstream gradients (dout.*), outputs
(out.*) and gradients (grad.*) as .npy files; recomputes the op here in plain torch following the
Hugging Face modeling code of Qwen2 / DeepSeek-V2/V3 (and DeepSeek's own complex-number RoPE for the
interleaved layout), back-propagates sum(dout * out) and compares every output and gradient.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
TOL = 1e-4  # max |ours - torch| / max |torch|, per tensor


# ---------------------------------------------------------------- rotary tables (HF, float32)

def yarn_inv_freq(dim, base, factor, orig_max, beta_fast, beta_slow):
    """inv_freq as HF's YaRN code computes it, in float32 like HF."""
    pos_freqs = base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)
    extra = 1.0 / pos_freqs
    if factor is None or factor <= 1.0:
        return extra
    inter = 1.0 / (factor * pos_freqs)

    def corr_dim(rot):
        return (dim * math.log(orig_max / (rot * 2 * math.pi))) / (2 * math.log(base))

    low = max(math.floor(corr_dim(beta_fast)), 0)
    high = min(math.ceil(corr_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
    extra_factor = 1 - ramp
    return inter * (1 - extra_factor) + extra * extra_factor


def get_mscale(scale, mscale=1.0):
    return 1.0 if scale <= 1 else 0.1 * mscale * math.log(scale) + 1.0


def angles(inv_freq, pos):
    """[T, dim/2] angles in float32, as HF's rotary embedding forms them."""
    return torch.outer(pos.to(torch.float32), inv_freq)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_half(x, ang, scale):
    """Qwen2/Llama: x [..., T, H, d] with ang [T, d/2]."""
    emb = torch.cat((ang, ang), dim=-1)
    cos = (emb.cos().double() * scale)[:, None, :]
    sin = (emb.sin().double() * scale)[:, None, :]
    return x * cos + rotate_half(x) * sin


def rope_interleaved(x, ang, scale):
    """DeepSeek's own formulation: consecutive pairs as complex numbers times e^{i·angle}."""
    shape = x.shape
    xc = torch.view_as_complex(x.reshape(*shape[:-1], -1, 2).contiguous())
    rot = torch.polar(torch.full_like(ang.double(), scale), ang.double())[:, None, :]
    return torch.view_as_real(xc * rot).reshape(shape)


# ---------------------------------------------------------------- ops

def rmsnorm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def mlp(x, gate, up, down):
    return F.linear(F.silu(F.linear(x, gate)) * F.linear(x, up), down)


def causal_attention(q, k, v, scale):
    """q [B,S,Hq,Dk], k [B,S,Hkv,Dk], v [B,S,Hkv,Dv] -> [B,S,Hq,Dv] (HF repeat_kv semantics)."""
    rep = q.shape[2] // k.shape[2]
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    S = q.shape[2]
    scores = q @ k.transpose(-1, -2) * scale
    mask = torch.triu(torch.ones(S, S, dtype=torch.bool), diagonal=1)
    scores = scores.masked_fill(mask, float("-inf"))
    return (scores.softmax(-1) @ v).transpose(1, 2)


def route(logits, bias, m):
    """HF DeepSeek MoEGate after the gate matmul: returns (idx, weights)."""
    T, E = logits.shape
    scores = logits.softmax(-1) if m["scoring"] == "softmax" else logits.sigmoid()
    choice = scores.detach() + (bias if bias is not None else 0)
    G, TG, K = m["n_group"], m["topk_group"], m["top_k"]
    if G > 1 and TG < G:
        grouped = choice.view(T, G, -1)
        if m["group_score"] == "max":
            gs = grouped.max(-1).values
        else:
            gs = grouped.topk(min(2, grouped.shape[-1]), dim=-1)[0].sum(-1)
        gidx = gs.topk(TG, dim=-1)[1]
        gmask = torch.zeros_like(gs).scatter_(1, gidx, 1)
        smask = gmask.unsqueeze(-1).expand(T, G, E // G).reshape(T, E)
        choice = choice.masked_fill(~smask.bool(), float("-inf"))
    idx = choice.topk(K, dim=-1)[1]
    w = scores.gather(1, idx)
    normalized = K > 1 and m["norm_topk_prob"]
    if normalized:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    if m["v3"] or not normalized:
        w = w * m["routed_scaling_factor"]
    return idx, w


def op_embedding(t, m):
    return {"out": F.embedding(t["in.tokens"], t["in.table"])}


def op_rmsnorm(t, m):
    return {"out": rmsnorm(t["in.x"], t["in.w"], m["eps"])}


def op_linear(t, m):
    return {"out": F.linear(t["in.x"], t["in.w"], t["in.b"])}


def op_rope(t, m, interleaved):
    inv = yarn_inv_freq(m["rot_dim"], m["theta"], m["factor"], m["original_max_position"], m["beta_fast"], m["beta_slow"])
    ang = angles(inv, t["in.pos"])
    x, off = t["in.x"], m["offset"]
    f = rope_interleaved if interleaved else rope_half
    return {"out": torch.cat((x[..., :off], f(x[..., off:], ang, m["scale"])), dim=-1)}


def op_attention(t, m):
    return {"out": causal_attention(t["in.q"], t["in.k"], t["in.v"], m["scale"])}


def op_mlp(t, m):
    return {"out": mlp(t["in.x"], t["in.gate"], t["in.up"], t["in.down"])}


def op_router(t, m):
    idx, w = route(t["in.logits"], t.get("in.bias"), m["router"])
    return {"idx": idx, "weights": w}


def op_moe(t, m):
    r = m["router"]
    x = t["in.x"]
    idx, w = route(F.linear(x, t["in.gate"]), t["in.bias"], r)
    out = mlp(x, t["in.shared.gate_proj"], t["in.shared.up_proj"], t["in.shared.down_proj"])
    rows = []
    for i in range(x.shape[0]):
        y = 0
        for k in range(r["top_k"]):
            e = int(idx[i, k])
            p = f"in.experts.{e}."
            y = y + w[i, k] * mlp(x[i:i + 1], t[p + "gate_proj"], t[p + "up_proj"], t[p + "down_proj"])[0]
        rows.append(y)
    return {"out": out + torch.stack(rows), "idx": idx}


def op_cross_entropy(t, m):
    return {"loss": F.cross_entropy(t["in.logits"], t["in.targets"], ignore_index=-100)}


def op_gqa(t, m):
    """Qwen2Attention (HF), YaRN rope with its attention factor on cos/sin."""
    B, S, H, KV = m["B"], m["S"], m["num_attention_heads"], m["num_key_value_heads"]
    x = t["in.x"].view(B, S, -1)
    D = t["in.q_proj.weight"].shape[0] // H
    q = F.linear(x, t["in.q_proj.weight"], t["in.q_proj.bias"]).view(B, S, H, D)
    k = F.linear(x, t["in.k_proj.weight"], t["in.k_proj.bias"]).view(B, S, KV, D)
    v = F.linear(x, t["in.v_proj.weight"], t["in.v_proj.bias"]).view(B, S, KV, D)
    rs = m["rope_scaling"]
    inv = yarn_inv_freq(D, m["rope_theta"], rs["factor"], rs["original_max_position_embeddings"], 32, 1)
    ang = angles(inv, t["in.pos"]).view(B, S, -1)
    attn_factor = get_mscale(rs["factor"])
    q = torch.stack([rope_half(q[b], ang[b], attn_factor) for b in range(B)])
    k = torch.stack([rope_half(k[b], ang[b], attn_factor) for b in range(B)])
    o = causal_attention(q, k, v, 1.0 / math.sqrt(D)).reshape(B * S, H * D)
    return {"out": F.linear(o, t["in.o_proj.weight"])}


def op_mla(t, m):
    """DeepseekV3Attention (HF): de-interleave the rope dims, rotate_half, mscale² softmax scale."""
    B, S, H = m["B"], m["S"], m["num_attention_heads"]
    dn, dr, dv, r, eps = m["qk_nope_head_dim"], m["qk_rope_head_dim"], m["v_head_dim"], m["kv_lora_rank"], m["rms_norm_eps"]
    x = t["in.x"].view(B, S, -1)
    if m["q_lora_rank"]:
        q = F.linear(rmsnorm(F.linear(x, t["in.q_a_proj.weight"]), t["in.q_a_layernorm.weight"], eps), t["in.q_b_proj.weight"])
    else:
        q = F.linear(x, t["in.q_proj.weight"])
    q = q.view(B, S, H, dn + dr).transpose(1, 2)
    q_nope, q_pe = q[..., :dn], q[..., dn:]
    ckv = F.linear(x, t["in.kv_a_proj_with_mqa.weight"])
    c, k_pe = ckv[..., :r], ckv[..., r:].view(B, S, 1, dr).transpose(1, 2)
    kv = F.linear(rmsnorm(c, t["in.kv_a_layernorm.weight"], eps), t["in.kv_b_proj.weight"]).view(B, S, H, dn + dv).transpose(1, 2)
    k_nope, v = kv[..., :dn], kv[..., dn:]
    rs = m["rope_scaling"]
    inv = yarn_inv_freq(dr, m["rope_theta"], rs["factor"], rs["original_max_position_embeddings"], rs["beta_fast"], rs["beta_slow"])
    ang = angles(inv, t["in.pos"]).view(B, 1, S, -1)
    emb = torch.cat((ang, ang), dim=-1)
    _ms = get_mscale(rs["factor"], rs["mscale"]) / get_mscale(rs["factor"], rs["mscale_all_dim"])
    cos, sin = emb.cos().double() * _ms, emb.sin().double() * _ms

    def deinterleave(z):
        b, h, s, d = z.shape
        return z.view(b, h, s, d // 2, 2).transpose(4, 3).reshape(b, h, s, d)

    q_pe = deinterleave(q_pe) * cos + rotate_half(deinterleave(q_pe)) * sin
    k_pe = deinterleave(k_pe) * cos + rotate_half(deinterleave(k_pe)) * sin
    qs = torch.cat((q_nope, q_pe), dim=-1)
    ks = torch.cat((k_nope, k_pe.expand(B, H, S, dr)), dim=-1)
    ms = get_mscale(rs["factor"], rs["mscale_all_dim"])
    scale = (dn + dr) ** -0.5 * ms * ms
    scores = qs @ ks.transpose(-1, -2) * scale
    mask = torch.triu(torch.ones(S, S, dtype=torch.bool), diagonal=1)
    p = scores.masked_fill(mask, float("-inf")).softmax(-1)
    o = (p @ v).transpose(1, 2).reshape(B * S, H * dv)
    return {"out": F.linear(o, t["in.o_proj.weight"])}


OPS = {
    "embedding": op_embedding,
    "rmsnorm": op_rmsnorm,
    "linear": op_linear,
    "rope_half": lambda t, m: op_rope(t, m, False),
    "rope_interleaved": lambda t, m: op_rope(t, m, True),
    "attention": op_attention,
    "mlp": op_mlp,
    "router_v2_softmax_group": op_router,
    "router_v2_softmax_norm": op_router,
    "router_v3_sigmoid": op_router,
    "moe": op_moe,
    "cross_entropy": op_cross_entropy,
    "gqa": op_gqa,
    "mla_q_lora": op_mla,
    "mla_q_proj": op_mla,
    "adamw": None,  # optimizer, checked by check_adamw
}


# ---------------------------------------------------------------- comparison

def load(case_dir):
    t = {}
    for f in sorted(os.listdir(case_dir)):
        if f.endswith(".npy"):
            a = np.load(os.path.join(case_dir, f))
            t[f[:-4]] = torch.from_numpy(a.astype(np.float64) if a.dtype == np.float32 else a.astype(np.int64))
    with open(os.path.join(case_dir, "meta.json")) as fh:
        return t, json.load(fh)


def rel_err(ours, ref):
    ours, ref = ours.double(), ref.detach().double()
    if ours.shape != ref.shape:
        raise AssertionError(f"shape {tuple(ours.shape)} vs torch {tuple(ref.shape)}")
    scale = ref.abs().max().item()
    if scale == 0:
        raise AssertionError("reference is all zeros: the comparison would prove nothing")
    return (ours - ref).abs().max().item() / scale


def check_adamw(t, m):
    """torch.optim.AdamW with decay/no-decay groups, clip_grad_norm_ before each step."""
    data = t["in.data"]
    w = data[:20].clone().view(5, 4).requires_grad_(True)
    n = data[20:26].clone().requires_grad_(True)
    frozen = data[26:].clone()
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": m["weight_decay"]}, {"params": [n], "weight_decay": 0.0}],
                            lr=1.0, betas=(m["beta1"], m["beta2"]), eps=m["eps"])
    norms = []
    for s in range(m["steps"]):
        g = t[f"in.grad{s}"]
        w.grad, n.grad = g[:20].clone().view(5, 4), g[20:26].clone()
        norms.append(torch.nn.utils.clip_grad_norm_([w, n], m["max_norm"]).item())
        for group in opt.param_groups:
            group["lr"] = t["in.lr"][s].item()
        opt.step()
    final = torch.cat([w.detach().reshape(-1), n.detach(), frozen])
    return {"norms": torch.tensor(norms), "data": final}


def check_case(name, case_dir):
    t, m = load(case_dir)
    if name == "adamw":
        outs = check_adamw(t, m)
        errs = {k: rel_err(t["out." + k], v) for k, v in outs.items()}
        # The update itself, so that a small error in a small step cannot hide behind the weights.
        errs["update"] = rel_err(t["out.data"][:26] - t["in.data"][:26], outs["data"][:26] - t["in.data"][:26])
        frozen_ok = torch.equal(t["out.data"][26:], t["in.data"][26:])
        bad = [f"out.{k}: rel err {e:.2e}" for k, e in errs.items() if e > TOL] + ([] if frozen_ok else ["frozen parameter moved"])
        print(f"{name:26s} {'FAIL' if bad else 'ok':4s} worst rel err {max(errs.values()):.2e} over {len(errs)} outputs")
        for f in bad:
            print("    " + f)
        return not bad
    inputs = {}
    for k, v in t.items():
        if k.startswith("in."):
            if v.dtype == torch.float64:
                v = v.clone().requires_grad_(True)
            inputs[k] = v
    outs = OPS[name](inputs, m)
    failures, worst = [], 0.0
    loss = 0
    for k, v in outs.items():
        if k == "idx":
            continue
        loss = loss + ((t["dout." + k] * v).sum() if "dout." + k in t else v.sum())
    loss.backward()
    # Expert order within a token is not part of the contract: compare sets, and align weights.
    order_ours = order_ref = None
    if "idx" in outs:
        ref_idx = outs["idx"].detach()
        ours_idx = t["out.idx"]
        order_ref, order_ours = ref_idx.argsort(-1), ours_idx.argsort(-1)
        if not torch.equal(ref_idx.gather(1, order_ref), ours_idx.gather(1, order_ours)):
            failures.append("idx: chosen experts differ")
    for k, v in outs.items():
        if k == "idx":
            continue
        ours = t["out." + k]
        ref = v
        if k == "weights":
            ours, ref = ours.gather(1, order_ours), ref.gather(1, order_ref)
        e = rel_err(ours, ref)
        worst = max(worst, e)
        if e > TOL:
            failures.append(f"out.{k}: rel err {e:.2e}")
    for k, v in inputs.items():
        g = "grad." + k[3:]
        if g not in t:
            continue
        if v.grad is None:  # e.g. an expert no token chose: ours must be exactly zero
            if t[g].abs().max().item() != 0:
                failures.append(f"{g}: nonzero but torch has no gradient")
            continue
        e = rel_err(t[g], v.grad)
        worst = max(worst, e)
        if e > TOL:
            failures.append(f"{g}: rel err {e:.2e}")
    n_grads = sum(1 for k in t if k.startswith("grad."))
    print(f"{name:26s} {'FAIL' if failures else 'ok':4s} worst rel err {worst:.2e} over {len(outs)} outputs, {n_grads} grads")
    for f in failures:
        print("    " + f)
    return not failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([a.driver, a.work], check=True)
    cases = sorted(d for d in os.listdir(a.work) if os.path.isdir(os.path.join(a.work, d)))
    missing = set(OPS) - set(cases)
    ok = not missing
    if missing:
        print("driver did not write:", sorted(missing))
    for c in cases:
        if c not in OPS:
            print(f"no reference for case {c}")
            ok = False
            continue
        ok &= check_case(c, os.path.join(a.work, c))
    print("ALL OK" if ok else "FAILURES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
