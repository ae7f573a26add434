#!/usr/bin/python3
"""PyTorch side of the training-speed comparison (issue 5, point 7).

The same two models as bench/train_bench.cpp, written in plain torch the way Hugging Face's
modeling code computes them (float32, eager, torch.set_num_threads(N)):
  moe:   DeepSeek-V3-style, hidden 256, 4 layers (1 dense + 3 MoE), 8 routed experts top-2 (sigmoid
         scores, normalised, bias for selection), 1 shared expert, MLA (q_lora 64, kv_lora 64,
         nope 64, rope 32, v 64, 4 heads), vocab 4096
  dense: Qwen2-style, hidden 384, 6 layers, 6 query / 2 kv heads, SwiGLU 1024, tied, vocab 4096
One step = forward + backward of the mean next-token cross-entropy over [8, 256] + grad clipping +
AdamW. Prints one JSON line: tokens/s (warmup steps excluded), process CPU seconds per step (all
threads; a load-robust cost measure on a shared machine) and the model FLOPs per step (matmul
FLOPs, the same count the shell script uses for our side).
Usage: train_speed.py --model moe|dense [--threads 2] [--steps 5] [--warmup 1]
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

B, S, V = 8, 256, 4096

MOE = dict(C=256, F=1024, MF=256, L=4, dense=1, H=4, qr=64, r=64, dn=64, dr=32, dv=64, E=8, K=2, shared=1)
DENSE = dict(C=384, F=1024, L=6, H=6, KV=2)


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_tables(dim, S, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, dim, 2).float() / dim)
    ang = torch.outer(torch.arange(S).float(), inv)
    return ang.cos(), ang.sin()


def rope_half(x, cos, sin):  # x [B, H, S, D], rotate_half layout (Qwen2)
    d = x.shape[-1] // 2
    x1, x2 = x[..., :d], x[..., d:]
    c, s = torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)
    return x * c + torch.cat([-x2, x1], -1) * s


def rope_interleaved(x, cos, sin):  # HF DeepSeek: de-interleave, then rotate_half
    *lead, D = x.shape
    x = x.view(*lead, D // 2, 2).transpose(-1, -2).reshape(*lead, D)
    return rope_half(x, cos, sin)


def causal_attention(q, k, v, scale):  # [B, H, S, D]
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    mask = torch.full((q.shape[2], q.shape[2]), float("-inf")).triu(1)
    return torch.matmul(torch.softmax(s + mask, -1), v)


class Mlp(nn.Module):
    def __init__(self, C, F_):
        super().__init__()
        self.gate, self.up, self.down = nn.Linear(C, F_, bias=False), nn.Linear(C, F_, bias=False), nn.Linear(F_, C, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Moe(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.K = c["K"]
        self.gate = nn.Linear(c["C"], c["E"], bias=False)
        self.register_buffer("bias", torch.zeros(c["E"]))
        self.experts = nn.ModuleList(Mlp(c["C"], c["MF"]) for _ in range(c["E"]))
        self.shared = Mlp(c["C"], c["MF"] * c["shared"])

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        scores = torch.sigmoid(self.gate(x))
        idx = torch.topk(scores + self.bias, self.K, dim=-1).indices
        w = scores.gather(1, idx)
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
        out = self.shared(x)
        # Tokens gathered per expert (what HF's DeepseekV3MoE.moe_infer does).
        for e, expert in enumerate(self.experts):
            tok, slot = torch.nonzero(idx == e, as_tuple=True)
            if tok.numel():
                out = out.index_add(0, tok, expert(x[tok]) * w[tok, slot, None])
        return out.view(shape)


class Mla(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, H = c["C"], c["H"]
        self.c = c
        self.q_a = nn.Linear(C, c["qr"], bias=False)
        self.q_a_norm = nn.Parameter(torch.ones(c["qr"]))
        self.q_b = nn.Linear(c["qr"], H * (c["dn"] + c["dr"]), bias=False)
        self.kv_a = nn.Linear(C, c["r"] + c["dr"], bias=False)
        self.kv_a_norm = nn.Parameter(torch.ones(c["r"]))
        self.kv_b = nn.Linear(c["r"], H * (c["dn"] + c["dv"]), bias=False)
        self.o = nn.Linear(H * c["dv"], C, bias=False)
        self.cos, self.sin = rope_tables(c["dr"], S)

    def forward(self, x):
        c = self.c
        Bx, Sx, _ = x.shape
        H, dn, dr, dv, r = c["H"], c["dn"], c["dr"], c["dv"], c["r"]
        q = self.q_b(rms(self.q_a(x), self.q_a_norm)).view(Bx, Sx, H, dn + dr).transpose(1, 2)
        q_nope, q_pe = q.split([dn, dr], -1)
        kva = self.kv_a(x)
        lat, k_pe = kva.split([r, dr], -1)
        kv = self.kv_b(rms(lat, self.kv_a_norm)).view(Bx, Sx, H, dn + dv).transpose(1, 2)
        k_nope, v = kv.split([dn, dv], -1)
        q_pe = rope_interleaved(q_pe, self.cos, self.sin)
        k_pe = rope_interleaved(k_pe.view(Bx, 1, Sx, dr), self.cos, self.sin)
        q = torch.cat([q_nope, q_pe], -1)
        k = torch.cat([k_nope, k_pe.expand(Bx, H, Sx, dr)], -1)
        o = causal_attention(q, k, v, 1.0 / math.sqrt(dn + dr))
        return self.o(o.transpose(1, 2).reshape(Bx, Sx, H * dv))


class Gqa(nn.Module):
    def __init__(self, c):
        super().__init__()
        C, H, KV = c["C"], c["H"], c["KV"]
        self.H, self.KV, self.D = H, KV, C // H
        self.q = nn.Linear(C, H * self.D)
        self.k = nn.Linear(C, KV * self.D)
        self.v = nn.Linear(C, KV * self.D)
        self.o = nn.Linear(H * self.D, C, bias=False)
        self.cos, self.sin = rope_tables(self.D, S)

    def forward(self, x):
        Bx, Sx, _ = x.shape
        H, KV, D = self.H, self.KV, self.D
        q = rope_half(self.q(x).view(Bx, Sx, H, D).transpose(1, 2), self.cos, self.sin)
        k = rope_half(self.k(x).view(Bx, Sx, KV, D).transpose(1, 2), self.cos, self.sin)
        v = self.v(x).view(Bx, Sx, KV, D).transpose(1, 2)
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        o = causal_attention(q, k, v, 1.0 / math.sqrt(D))
        return self.o(o.transpose(1, 2).reshape(Bx, Sx, H * D))


class Block(nn.Module):
    def __init__(self, attn, ffn, C):
        super().__init__()
        self.attn, self.ffn = attn, ffn
        self.n1, self.n2 = nn.Parameter(torch.ones(C)), nn.Parameter(torch.ones(C))

    def forward(self, x):
        x = x + self.attn(rms(x, self.n1))
        return x + self.ffn(rms(x, self.n2))


class Model(nn.Module):
    def __init__(self, kind):
        super().__init__()
        if kind == "moe":
            c = MOE
            blocks = [Block(Mla(c), Mlp(c["C"], c["F"]) if l < c["dense"] else Moe(c), c["C"]) for l in range(c["L"])]
            self.head = nn.Linear(c["C"], V, bias=False)
        else:
            c = DENSE
            blocks = [Block(Gqa(c), Mlp(c["C"], c["F"]), c["C"]) for _ in range(c["L"])]
            self.head = None  # tied
        self.embed = nn.Embedding(V, c["C"])
        self.blocks = nn.ModuleList(blocks)
        self.norm = nn.Parameter(torch.ones(c["C"]))
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, tokens, targets):
        x = self.embed(tokens)
        for b in self.blocks:
            x = b(x)
        x = rms(x, self.norm)
        logits = self.head(x) if self.head is not None else F.linear(x, self.embed.weight)
        return F.cross_entropy(logits.view(-1, V), targets.view(-1))


def matmul_flops_per_step(kind):
    """Training FLOPs of the matmuls (3 × forward: forward, d-input, d-weight), per step.
    Weight products count the active parameters per token (shared + top-k experts + router);
    attention counts QK^T and PV over the full S×S, as the usual model-FLOPs convention does
    (PyTorch computes the masked half; sputnik skips most of it, which this count does not credit)."""
    T = B * S
    fwd = 0
    if kind == "moe":
        c = MOE
        H, dk = c["H"], c["dn"] + c["dr"]
        attn_w = c["C"] * c["qr"] + c["qr"] * H * dk + c["C"] * (c["r"] + c["dr"]) + c["r"] * H * (c["dn"] + c["dv"]) + H * c["dv"] * c["C"]
        for l in range(c["L"]):
            ffn = 3 * c["C"] * c["F"] if l < c["dense"] else 3 * c["C"] * c["MF"] * (c["K"] + c["shared"]) + c["C"] * c["E"]
            fwd += 2 * T * (attn_w + ffn) + 2 * B * H * S * S * (dk + c["dv"])
        fwd += 2 * T * c["C"] * V
    else:
        c = DENSE
        D = c["C"] // c["H"]
        attn_w = c["C"] * (c["H"] + 2 * c["KV"]) * D + c["H"] * D * c["C"]
        for _ in range(c["L"]):
            fwd += 2 * T * (attn_w + 3 * c["C"] * c["F"]) + 2 * B * c["H"] * S * S * 2 * D
        fwd += 2 * T * c["C"] * V
    return 3 * fwd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["moe", "dense"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--flops-only", action="store_true", help="print the FLOP count and exit")
    a = ap.parse_args()
    flops = matmul_flops_per_step(a.model)
    if a.flops_only:
        print(json.dumps({"model": a.model, "flops_per_step": flops, "tokens_per_step": B * S}))
        return 0
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = Model(a.model)
    decay = [p for p in m.parameters() if p.dim() >= 2]
    rest = [p for p in m.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    tokens = torch.randint(0, V, (B, S))
    targets = torch.randint(0, V, (B, S))
    times, cpu = [], 0.0
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            cpu0 = ru.ru_utime + ru.ru_stime
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = m(tokens, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        if step >= a.warmup:
            times.append(time.perf_counter() - t0)
    sec = sum(times) / len(times)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru.ru_utime + ru.ru_stime - cpu0) / a.steps
    print(json.dumps({"model": a.model, "threads": a.threads, "step_s": sec, "tokens_per_s": B * S / sec, "cpu_s_per_step": cpu,
                      "flops_per_step": flops, "loss": loss.item(),
                      "params_M": sum(p.numel() for p in m.parameters()) / 1e6}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
