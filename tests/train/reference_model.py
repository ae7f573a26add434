#!/usr/bin/python3
"""Whole-model gradient check of sputnik's TrainModel against PyTorch autograd (float64).

train_model_driver writes tiny random Qwen2 / DeepSeek-V2 / DeepSeek-V3 checkpoints (config.json
plus one .npy per HF-named parameter), a batch, and its loss and gradients. This file rebuilds each
model from the config in plain torch, following Hugging Face's modeling code (reusing the op
references of reference_ops.py), and requires loss and every gradient to agree to <= 1e-4 relative.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_ops as R  # noqa: E402

torch.set_default_dtype(torch.float64)
TOL = 1e-4


def attention_qwen2(P, p, cfg, x, pos):
    B, S, _ = x.shape
    H, KV = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    D = cfg["hidden_size"] // H
    q = F.linear(x, P[p + "q_proj.weight"], P[p + "q_proj.bias"]).view(B, S, H, D)
    k = F.linear(x, P[p + "k_proj.weight"], P[p + "k_proj.bias"]).view(B, S, KV, D)
    v = F.linear(x, P[p + "v_proj.weight"], P[p + "v_proj.bias"]).view(B, S, KV, D)
    rs = cfg.get("rope_scaling")
    if rs:
        inv = R.yarn_inv_freq(D, cfg["rope_theta"], rs["factor"], rs["original_max_position_embeddings"], 32, 1)
        af = R.get_mscale(rs["factor"])
    else:
        inv, af = R.yarn_inv_freq(D, cfg["rope_theta"], None, 0, 0, 0), 1.0
    ang = R.angles(inv, pos)
    q = torch.stack([R.rope_half(q[b], ang, af) for b in range(B)])
    k = torch.stack([R.rope_half(k[b], ang, af) for b in range(B)])
    o = R.causal_attention(q, k, v, 1.0 / math.sqrt(D)).reshape(B, S, H * D)
    return F.linear(o, P[p + "o_proj.weight"])


def attention_mla(P, p, cfg, x, pos):
    B, S, _ = x.shape
    t = {"in.x": x.reshape(B * S, -1), "in.pos": pos.repeat(B)}
    for k, v in P.items():
        if k.startswith(p):
            t["in." + k[len(p):]] = v
    rs = cfg.get("rope_scaling") or {}
    m = dict(cfg, B=B, S=S, rope_scaling={
        "factor": rs.get("factor", 1.0), "original_max_position_embeddings": rs.get("original_max_position_embeddings", 4096),
        "beta_fast": rs.get("beta_fast", 32), "beta_slow": rs.get("beta_slow", 1),
        "mscale": rs.get("mscale", 1.0), "mscale_all_dim": rs.get("mscale_all_dim", 0.0)})
    return R.op_mla(t, m)["out"].view(B, S, -1)


def router_cfg(cfg):
    v3 = cfg["model_type"] == "deepseek_v3"
    method = cfg.get("topk_method", "noaux_tc" if v3 else "greedy")
    grouped = method != "greedy" and cfg.get("n_group", 1) > 1
    m = {"n_experts": cfg["n_routed_experts"], "top_k": cfg["num_experts_per_tok"],
         "n_group": cfg["n_group"] if grouped else 1, "topk_group": cfg["topk_group"] if grouped else 1,
         "scoring": cfg.get("scoring_func", "sigmoid" if v3 else "softmax"),
         "group_score": "top2sum" if method == "noaux_tc" else "max",
         "norm_topk_prob": cfg.get("norm_topk_prob", False),
         "routed_scaling_factor": cfg.get("routed_scaling_factor", 1.0), "v3": v3}
    return m


def seq_balance(P, p, cfg, x):
    """DeepSeek-V3 report eqs. 17-20 for one MoE layer, averaged over the batch's sequences:
    sum_i f_i P_i, f_i = N_r/(K_r T) * #tokens of the sequence choosing i (a count, no gradient),
    P_i = mean over the sequence of s_i / sum_j s_j (s: the unbiased router scores)."""
    B, S, C = x.shape
    m = router_cfg(cfg)
    E, K = m["n_experts"], m["top_k"]
    logits = F.linear(x.reshape(B * S, C), P[p + "gate.weight"])
    idx, _ = R.route(logits, P.get(p + "gate.e_score_correction_bias"), m)
    scores = logits.softmax(-1) if m["scoring"] == "softmax" else logits.sigmoid()
    sprime = (scores / scores.sum(-1, keepdim=True)).view(B, S, E)
    chosen = torch.zeros(B * S, E, dtype=torch.float64).scatter_(1, idx, 1.0).view(B, S, E)
    f = chosen.sum(1) * E / (K * S)
    return (f * sprime.mean(1)).sum(-1).mean()


def moe(P, p, cfg, x):
    B, S, C = x.shape
    m = router_cfg(cfg)
    t = {"in.x": x.reshape(B * S, C), "in.gate": P[p + "gate.weight"], "in.bias": P.get(p + "gate.e_score_correction_bias")}
    for k, v in P.items():
        if k.startswith(p + "experts.") or k.startswith(p + "shared_experts."):
            t["in." + k[len(p):].replace("shared_experts.", "shared.")[:-len(".weight")]] = v
    if cfg.get("n_shared_experts", 0) == 0:
        z = torch.zeros(0, C)
        t["in.shared.gate_proj"], t["in.shared.up_proj"], t["in.shared.down_proj"] = z, z, z.T
    return R.op_moe(t, {"router": m})["out"].view(B, S, C)


def block(P, l, cfg, x, pos, balance=None):
    eps = cfg["rms_norm_eps"]
    deepseek = cfg["model_type"].startswith("deepseek")
    p = f"model.layers.{l}."
    h = R.rmsnorm(x, P[p + "input_layernorm.weight"], eps)
    attn = attention_mla if deepseek else attention_qwen2
    x = x + attn(P, p + "self_attn.", cfg, h, pos)
    h = R.rmsnorm(x, P[p + "post_attention_layernorm.weight"], eps)
    if deepseek and cfg.get("n_routed_experts") and l >= cfg.get("first_k_dense_replace", 0):
        if balance is not None:
            balance.append(seq_balance(P, p + "mlp.", cfg, h))
        return x + moe(P, p + "mlp.", cfg, h)
    return x + R.mlp(h, P[p + "mlp.gate_proj.weight"], P[p + "mlp.up_proj.weight"], P[p + "mlp.down_proj.weight"])


def model_loss(P, cfg, tokens, targets, mtp_weight=0.0, balance_alpha=0.0):
    B, S = tokens.shape
    eps = cfg["rms_norm_eps"]
    x = F.embedding(tokens, P["model.embed_tokens.weight"])
    balance = []  # one term per MoE layer of the main model (not the MTP block)
    for l in range(cfg["num_hidden_layers"]):
        x = block(P, l, cfg, x, torch.arange(S), balance)
    x = R.rmsnorm(x, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else P["lm_head.weight"]
    logits = F.linear(x, head)
    loss = F.cross_entropy(logits.view(B * S, -1), targets.view(-1), ignore_index=-100)
    if balance_alpha:
        loss = loss + balance_alpha * torch.stack(balance).mean()
    if mtp_weight == 0:
        return loss
    # DeepSeek-V3 MTP depth 1 (as inference engines run the released weights): position i joins
    # enorm(Emb(t_{i+1})) and hnorm(main hidden_i) through eh_proj, runs one block, and predicts
    # t_{i+2} with shared_head.norm and the shared output head.
    L = cfg["num_hidden_layers"]
    p = f"model.layers.{L}."
    e = R.rmsnorm(F.embedding(tokens[:, 1:], P["model.embed_tokens.weight"]), P[p + "enorm.weight"], eps)
    h = R.rmsnorm(x[:, :-1], P[p + "hnorm.weight"], eps)
    m = F.linear(torch.cat([e, h], dim=-1), P[p + "eh_proj.weight"])
    m = block(P, L, cfg, m, torch.arange(S - 1))
    mlogits = F.linear(R.rmsnorm(m, P[p + "shared_head.norm.weight"], eps), head)
    mtp = F.cross_entropy(mlogits.reshape(B * (S - 1), -1), targets[:, 1:].reshape(-1), ignore_index=-100)
    return loss + mtp_weight * mtp


def check(case_dir):
    cfg = json.load(open(os.path.join(case_dir, "config.json")))
    P, G = {}, {}
    for f in os.listdir(case_dir):
        if f.startswith("param."):
            P[f[6:-4]] = torch.from_numpy(np.load(os.path.join(case_dir, f)).astype(np.float64)).requires_grad_(True)
        elif f.startswith("grad."):
            G[f[5:-4]] = torch.from_numpy(np.load(os.path.join(case_dir, f)).astype(np.float64))
    tokens = torch.from_numpy(np.load(os.path.join(case_dir, "tokens.npy")).astype(np.int64))
    targets = torch.from_numpy(np.load(os.path.join(case_dir, "targets.npy")).astype(np.int64))
    ours_loss = float(np.load(os.path.join(case_dir, "loss.npy")))
    mtp_weight = float(np.load(os.path.join(case_dir, "mtp_weight.npy")))
    alpha = float(np.load(os.path.join(case_dir, "balance_alpha.npy")))
    loss = model_loss(P, cfg, tokens, targets, mtp_weight, alpha)
    loss.backward()
    fails = []
    le = abs(ours_loss - loss.item()) / abs(loss.item())
    if le > TOL:
        fails.append(f"loss {ours_loss} vs torch {loss.item()}")
    unused = [k for k in P if k not in G and not k.endswith("e_score_correction_bias")]
    if unused:
        fails.append(f"parameters without a gradient from sputnik: {unused}")
    worst, worst_name = 0.0, ""
    for k, g in G.items():
        ref = P[k].grad
        if ref is None:  # an expert that no token chose
            if g.abs().max().item() != 0:
                fails.append(f"{k}: nonzero gradient but unused in torch")
            continue
        e = (g - ref).abs().max().item() / max(ref.abs().max().item(), 1e-30)
        if e > worst:
            worst, worst_name = e, k
        if e > TOL:
            fails.append(f"{k}: rel err {e:.2e}")
    name = os.path.basename(case_dir)
    if mtp_weight and not any(".enorm." in k for k in G):
        fails.append("MTP weight set but no MTP gradients")
    print(f"{name:12s} {'FAIL' if fails else 'ok':4s} mtp {mtp_weight:g} balance α {alpha:g} loss {loss.item():.6f} (rel diff {le:.1e}), "
          f"{len(G)} gradients, worst rel err {worst:.2e} ({worst_name})")
    for f in fails:
        print("    " + f)
    return not fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    subprocess.run([a.driver, a.work], check=True)
    ok = True
    for c in ("qwen2", "deepseek_v3", "deepseek_v2", "v3_balance", "v2_balance"):
        ok &= check(os.path.join(a.work, c))
    print("ALL OK" if ok else "FAILURES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
