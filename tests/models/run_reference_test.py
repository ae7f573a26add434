"""Compares `sputnik logits` with the PyTorch reference on one generated tiny checkpoint.

    /usr/bin/python3 run_reference_test.py SPUTNIK_BINARY VARIANT WORK_DIR

Checks, for the variant's checkpoint:
  1. whole-sequence prefill logits agree with reference.py to <= 1e-4 relative;
  2. prefill of a prefix, then one token at a time through the KV cache, agrees too;
  3. the tolerance means something: a reference with a deliberate mistake (wrong rope layout;
     where they apply: mixing with biased router scores, YaRN or its softmax mscale ignored,
     group limit ignored) is far outside it;
  4. `sputnik info` reports the expected KV-cache bytes per token (and the MTP layer, if any).
"""
import json
import os
import random
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_checkpoint  # noqa: E402
import reference  # noqa: E402

TOLERANCE = 1e-4


def rel_error(ours, ref):
    return float((ours - ref).abs().max() / ref.abs().max())


def sputnik_logits(binary, folder, tokens, extra=()):
    cmd = [binary, "logits", "-m", folder, "--tokens", ",".join(map(str, tokens)), "-t", "2", *extra]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {res.returncode}:\n{res.stderr}")
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    return torch.tensor(rows, dtype=torch.float32)


def main():
    binary, variant, work = sys.argv[1], sys.argv[2], sys.argv[3]
    folder = os.path.join(work, variant)
    make_checkpoint.write_checkpoint(variant, folder)
    cfg = make_checkpoint.VARIANTS[variant][0]
    rng = random.Random(7)
    tokens = [rng.randrange(cfg["vocab_size"]) for _ in range(14)]
    ref = reference.logits(folder, tokens)
    failures = []

    for label, extra in (("prefill", ()), ("decode", ("--decode-from", "5")), ("decode-all", ("--decode-from", "0"))):
        ours = sputnik_logits(binary, folder, tokens, extra)
        if ours.shape != ref.shape:
            failures.append(f"{label}: shape {tuple(ours.shape)} vs reference {tuple(ref.shape)}")
            continue
        err = rel_error(ours, ref)
        print(f"{variant} {label}: max relative error {err:.3g}")
        if not err <= TOLERANCE:
            failures.append(f"{label}: relative error {err:.3g} > {TOLERANCE}")

    # The comparison must be able to fail: plausible-but-wrong math lands far outside tolerance.
    ours = sputnik_logits(binary, folder, tokens)
    perturbations = {"wrong rope layout": {"wrong_rope": True}}
    if any(".e_score_correction_bias" in k for k in reference.load_folder(folder)[1]):
        perturbations["bias in mixing weights"] = {"bias_in_mix": True}
    if cfg.get("rope_scaling"):
        perturbations["yarn ignored"] = {"no_yarn": True}
        if cfg["model_type"] != "qwen2":
            perturbations["no mscale in softmax scale"] = {"no_softmax_mscale": True}
    if cfg.get("topk_method") in ("group_limited_greedy", "noaux_tc") and cfg.get("topk_group") < cfg.get("n_group"):
        perturbations["routing without group limit"] = {"ungrouped": True}
    for label, kw in perturbations.items():
        err = rel_error(ours, reference.logits(folder, tokens, **kw))
        print(f"{variant} vs reference with {label}: {err:.3g}")
        if not err > 100 * TOLERANCE:
            failures.append(f"{label} is within {err:.3g} of ours: the check is not sensitive")

    info = subprocess.run([binary, "info", "-m", folder], capture_output=True, text=True)
    if info.returncode != 0:
        failures.append(f"sputnik info failed: {info.stderr}")
    else:
        if cfg["model_type"] == "qwen2":
            per_layer = 2 * cfg["num_key_value_heads"] * (cfg["hidden_size"] // cfg["num_attention_heads"])
        else:
            per_layer = cfg["kv_lora_rank"] + cfg["qk_rope_head_dim"]
        want = f"kv cache:       {per_layer * 4 * cfg['num_hidden_layers']} bytes/token"
        if want not in info.stdout:
            failures.append(f"sputnik info lacks '{want}':\n{info.stdout}")
        if cfg.get("num_nextn_predict_layers") and "mtp layers:     1 " not in info.stdout:
            failures.append(f"sputnik info does not report the MTP layer:\n{info.stdout}")

    if failures:
        sys.exit("FAIL " + variant + ":\n  " + "\n  ".join(failures))
    print(f"PASS {variant}")


if __name__ == "__main__":
    main()
