#!/usr/bin/python3
"""`sputnik grads` (the real CLI) against PyTorch autograd.

For tiny random Hugging Face checkpoints written by tests/models/make_checkpoint.py (Qwen2 with
YaRN, BF16 and tied; DeepSeek-V2 and V3 with MoE and MTP: see CASES), runs `sputnik grads -m DIR --tokens ... --out G.safetensors`,
reads the gradients back with a few lines of numpy (8-byte header length, JSON header, raw bytes)
and compares them, and the printed losses, with torch autograd (float64) of reference_model.py's
independent torch model on the weights read from the checkpoint files: ≤ 1e-4 relative.
Also checks the CLI's errors (too few tokens, ids outside the vocabulary, unreadable model).
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import make_checkpoint  # noqa: E402  (tests/models: writes the checkpoints)
import reference_model  # noqa: E402  (tests/train: the torch model; sets float64 default)

TOL = 1e-4
# name: (make_checkpoint variant, MTP loss weight λ, number of tokens)
CASES = {
    "qwen2_yarn": ("qwen2_yarn", 0.0, 19),
    "qwen2_bf16": ("qwen2_untied_bf16", 0.0, 9),  # BF16 matrices widened to f32 on load
    "qwen2_tied": ("qwen2_tied", 0.0, 2),  # tied head: one gradient for embedding + head
    "deepseek_v2": ("deepseek_v2", 0.0, 12),  # softmax routing, no q_lora, F16, 3 shards
    "deepseek_v3_mtp": ("deepseek_v3", 0.3, 16),  # sigmoid + groups + bias, q_lora, MTP, 2 shards
}
NP_DTYPES = {"F32": np.float32, "F16": np.float16}


def read_safetensors(path):
    """name -> float64 numpy array, and the __metadata__ dict."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        raw = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        if info["dtype"] == "BF16":  # numpy has no bfloat16: widen the bits into float32
            bits = np.frombuffer(raw[a:b], dtype=np.uint16).astype(np.uint32) << 16
            arr = bits.view(np.float32)
        else:
            arr = np.frombuffer(raw[a:b], dtype=NP_DTYPES[info["dtype"]])
        out[name] = arr.astype(np.float64).reshape(info["shape"])
    return out, header.get("__metadata__", {})


def read_checkpoint(folder):
    weights = {}
    for f in sorted(os.listdir(folder)):
        if f.endswith(".safetensors"):
            weights.update(read_safetensors(os.path.join(folder, f))[0])
    return weights


def run_grads(sputnik, args):
    return subprocess.run([sputnik, "grads", "-t", "1", *args], capture_output=True, text=True)


def printed(stdout, key):
    m = re.search(rf"^{key} = (\S+)$", stdout, re.M)
    return float(m.group(1)) if m else None


def check_case(sputnik, work, name, variant, mtp_weight, n_tokens, seed):
    folder = os.path.join(work, name)
    make_checkpoint.write_checkpoint(variant, folder, seed=seed)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, cfg["vocab_size"], n_tokens)
    out = os.path.join(work, name + ".grads.safetensors")
    args = ["-m", folder, "--tokens", ",".join(map(str, tokens)), "--out", out]
    if mtp_weight:
        args += ["--mtp-weight", str(mtp_weight)]
    r = run_grads(sputnik, args)
    if r.returncode != 0:
        return [f"sputnik grads failed ({r.returncode}): {r.stderr.strip()}"]
    grads, meta = read_safetensors(out)

    # Reference: the checkpoint's own stored values (after dtype conversion), torch float64.
    W = read_checkpoint(folder)
    P = {k: torch.from_numpy(v).requires_grad_(True) for k, v in W.items()}
    t = torch.from_numpy(tokens.astype(np.int64))[None]
    targets = torch.cat([t[:, 1:], torch.full((1, 1), -100)], dim=1)
    main = reference_model.model_loss(P, cfg, t, targets, 0.0)
    total = reference_model.model_loss(P, cfg, t, targets, mtp_weight) if mtp_weight else main
    total.backward()

    fails = []

    def close(label, ours, ref):
        if ours is None:
            fails.append(f"{label}: not printed")
        elif abs(ours - ref) > TOL * abs(ref):
            fails.append(f"{label}: sputnik {ours} vs torch {ref}")

    close("loss", printed(r.stdout, "loss"), main.item())
    close("metadata loss", float(meta.get("loss", "nan")), main.item())
    if mtp_weight:
        close("total_loss", printed(r.stdout, "total_loss"), total.item())
        close("mtp_loss", printed(r.stdout, "mtp_loss"), (total.item() - main.item()) / mtp_weight)
    elif "mtp_loss" in r.stdout:
        fails.append("mtp_loss printed without --mtp-weight")

    # Every trainable parameter of the checkpoint, under its own name and shape, nothing else.
    # Not parameters: the selection bias (moved by load balancing) and the MTP layer's copies of
    # the embedding and head (DeepSeek-V3's MTP shares the main model's).
    L = cfg["num_hidden_layers"]
    shared_copies = {f"model.layers.{L}.embed_tokens.weight", f"model.layers.{L}.shared_head.head.weight"}
    expected = {k for k in W if not k.endswith("e_score_correction_bias") and k not in shared_copies}
    if set(grads) != expected:
        fails.append(f"names: missing {sorted(expected - set(grads))}, extra {sorted(set(grads) - expected)}")
    worst, worst_name = 0.0, ""
    for k in sorted(expected & set(grads)):
        g = grads[k]
        if list(g.shape) != list(W[k].shape):
            fails.append(f"{k}: shape {list(g.shape)} vs checkpoint {list(W[k].shape)}")
            continue
        ref = P[k].grad
        if ref is None:  # e.g. an expert no token chose
            if np.abs(g).max() != 0:
                fails.append(f"{k}: nonzero gradient but unused in torch")
            continue
        ref = ref.numpy()
        e = np.abs(g - ref).max() / max(np.abs(ref).max(), 1e-30)
        if e > worst:
            worst, worst_name = e, k
        if e > TOL:
            fails.append(f"{k}: rel err {e:.2e}")
    if not any(np.abs(g).max() > 0 for g in grads.values()):
        fails.append("every gradient is zero")
    if mtp_weight and np.abs(grads.get(f"model.layers.{L}.eh_proj.weight", np.zeros(1))).max() == 0:
        fails.append("MTP weight set but the MTP module got no gradient")
    print(f"{name:16s} {'FAIL' if fails else 'ok':4s} λ {mtp_weight:g} loss {main.item():.6f} total {total.item():.6f}, "
          f"{len(grads)} gradients, worst rel err {worst:.2e} ({worst_name})")
    return fails


def check_errors(sputnik, work):
    """Bad input must give a clear message and a non-zero exit, never a crash."""
    folder = os.path.join(work, "qwen2_yarn")  # written by the first case
    out = os.path.join(work, "err.safetensors")
    vocab = json.load(open(os.path.join(folder, "config.json")))["vocab_size"]
    cases = [
        (["-m", folder, "--tokens", "5", "--out", out], "at least 2"),
        (["-m", folder, "--tokens", f"1,{vocab}", "--out", out], "outside the vocabulary"),
        (["-m", folder, "--tokens", "1,-2", "--out", out], "not a token id"),
        (["-m", folder, "--tokens", "1,x", "--out", out], "not a token id"),
        (["-m", folder, "--tokens", "1,2,3", "--out", out, "--mtp-weight", "0.5"], "MTP"),
        (["-m", os.path.join(work, "no_such_model"), "--tokens", "1,2", "--out", out], "no_such_model"),
        (["-m", folder, "--tokens", "1,2", "--out", os.path.join(work, "no_dir", "g.safetensors")], "no_dir"),
    ]
    fails = []
    for args, needle in cases:
        r = run_grads(sputnik, args)
        if r.returncode <= 0 or needle not in r.stderr:  # < 0: killed by a signal
            fails.append(f"{' '.join(args[2:])}: exit {r.returncode}, stderr {r.stderr.strip()!r} (want '{needle}')")
    if os.path.exists(out):
        fails.append("a failed run wrote the output file")
    print(f"{'errors':16s} {'FAIL' if fails else 'ok':4s} {len(cases)} bad inputs")
    return fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sputnik", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(1)
    fails = []
    for i, (name, (variant, lam, n)) in enumerate(CASES.items()):
        fails += [f"{name}: {f}" for f in check_case(a.sputnik, a.work, name, variant, lam, n, 100 + i)]
    fails += check_errors(a.sputnik, a.work)
    for f in fails:
        print("    " + f)
    print("ALL OK" if not fails else "FAILURES")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
