#!/usr/bin/python3
"""Data-parallel training over MPI, on loopback with `mpirun -np 2`.

1. train_mpi_driver check: allreduce_mean / allreduce_sum / broadcast give the right numbers on
   every rank (computed independently from each rank's seed), with the same bits on all ranks.
2. train_mpi_driver abort / exit: a rank that fails alone (an exception in guard(), or just a
   non-zero exit status) ends the whole job quickly instead of hanging it.
3. `mpirun -np 2 sputnik train --batch B` (B is the global batch: each rank takes B/2 rows)
   against one process with --batch B on the same data: the per-step losses logged by rank 0
   agree within 1e-4 relative, and fall (skipped, with a note, while the binary has no `train`
   command).
"""
import argparse
import json
import os
import random
import struct
import subprocess
import sys
import time

TOL = 1e-4


def mpirun_cmd(mpirun, n):
    cmd = [mpirun, "-np", str(n), "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:  # containers often run as root, which Open MPI refuses by default
        cmd.append("--allow-run-as-root")
    return cmd


def mpi_env():
    env = dict(os.environ)
    # Loopback only: shared memory between the ranks of this machine, without the kernel's
    # cross-memory-attach (often not permitted in containers), and TCP as the fallback.
    env.setdefault("OMPI_MCA_btl", "self,vader,tcp")
    env.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    env.setdefault("OMPI_MCA_btl_tcp_if_include", "lo")
    env.setdefault("OMPI_MCA_oob_tcp_if_include", "lo")
    env["OMP_NUM_THREADS"] = "1"
    return env


def run(cmd, timeout):
    t0 = time.time()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(), timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return None, f"timed out after {timeout} s: {(e.stdout or b'')!r} {(e.stderr or b'')!r}", timeout
    return r, r.stdout + r.stderr, time.time() - t0


def check_collectives(a):
    r, out, dt = run(mpirun_cmd(a.mpirun, 2) + [a.driver, "check"], 180)
    ok = r is not None and r.returncode == 0 and "rank 0: ok" in out and "rank 1: ok" in out and "rank 1 of 2" in out
    print(f"collectives  {'ok' if ok else 'FAIL'}  ({dt:.1f} s)")
    if not ok:
        print(out)
    return ok


def check_abort(a):
    ok = True
    for mode, said in (("abort", "rank 1: error: simulated failure"), ("exit", "rank 1: leaving with status 1")):
        r, out, dt = run(mpirun_cmd(a.mpirun, 2) + [a.driver, mode], 120)
        good = r is not None and r.returncode != 0 and said in out and "completed although" not in out
        print(f"{mode:12s} {'ok' if good else 'FAIL'}  (job ended with {r.returncode if r else 'timeout'} in {dt:.1f} s)")
        if not good:
            print(out)
        ok &= good
    return ok


def has_train(sputnik):
    r = subprocess.run([sputnik, "help"], capture_output=True, text=True)
    return any(line.split()[:1] == ["train"] for line in r.stdout.splitlines())


def read_losses(log):
    steps = {}
    with open(log) as f:
        for line in f:
            line = line.strip()
            if line:
                rec = json.loads(line)
                if "loss" in rec and "step" in rec:
                    steps[int(rec["step"])] = float(rec["loss"])
    return [steps[k] for k in sorted(steps)]


QWEN2 = {"model_type": "qwen2", "vocab_size": 128, "hidden_size": 32, "intermediate_size": 64,
         "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
         "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
         "tie_word_embeddings": False, "hidden_act": "silu"}
# MoE with the selection bias moved by load balancing (expert loads summed over ranks) and MTP.
DEEPSEEK_V3 = {"model_type": "deepseek_v3", "vocab_size": 128, "hidden_size": 32, "intermediate_size": 48,
               "moe_intermediate_size": 16, "num_hidden_layers": 2, "first_k_dense_replace": 1,
               "num_attention_heads": 4, "q_lora_rank": 16, "kv_lora_rank": 12, "qk_nope_head_dim": 8,
               "qk_rope_head_dim": 4, "v_head_dim": 8, "n_routed_experts": 8, "num_experts_per_tok": 2,
               "n_group": 4, "topk_group": 2, "n_shared_experts": 1, "norm_topk_prob": True,
               "routed_scaling_factor": 2.5, "scoring_func": "sigmoid", "topk_method": "noaux_tc",
               "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
               "tie_word_embeddings": False, "hidden_act": "silu", "num_nextn_predict_layers": 1}


def check_train(a):
    if not has_train(a.sputnik):
        print("train        skipped: this sputnik has no `train` command yet")
        return True
    work = os.path.join(a.work, "train")
    os.makedirs(work, exist_ok=True)
    # A random token shard (flat little-endian uint32) with a repeating pattern under the noise,
    # so that the loss falls within a few steps.
    data = os.path.join(work, "tokens.bin")
    rnd = random.Random(5)
    ids = [(i * 7 + (rnd.randrange(3) == 0) * rnd.randrange(128)) % 128 for i in range(20000)]
    with open(data, "wb") as f:
        f.write(struct.pack(f"<{len(ids)}I", *ids))
    steps, batch, seq = 6, 4, 16
    ok = True
    for name, cfg in (("qwen2", QWEN2), ("deepseek_v3", DEEPSEEK_V3)):
        cfg_path = os.path.join(work, name + ".config.json")
        json.dump(cfg, open(cfg_path, "w"))
        common = ["train", "--model-config", cfg_path, "--data", data, "--steps", str(steps), "--seq", str(seq),
                  "--batch", str(batch), "--lr", "3e-3", "--warmup", "1", "--seed", "7", "-t", "1", "-q"]
        logs = {}
        for label, prefix in (("np1", []), ("np2", mpirun_cmd(a.mpirun, 2))):
            out_dir = os.path.join(work, f"{name}_{label}")
            log = os.path.join(work, f"{name}_{label}.jsonl")
            if os.path.exists(log):
                os.remove(log)
            r, out, dt = run(prefix + [a.sputnik] + common + ["--out", out_dir, "--log", log], 300)
            if r is None or r.returncode != 0:
                print(f"train        FAIL  {name} {label}: {out}")
                return False
            logs[label] = read_losses(log)
            print(f"train        {name} {label}: {dt:.1f} s, losses {' '.join(f'{x:.5f}' for x in logs[label])}")
        one, two = logs["np1"], logs["np2"]
        good = len(one) == steps and len(two) == steps
        worst = max((abs(x - y) / abs(x) for x, y in zip(one, two)), default=float("inf"))
        good = good and worst <= TOL and one[-1] < one[0]
        print(f"train        {name} {'ok' if good else 'FAIL'}  {len(two)} steps, worst rel diff {worst:.2e} "
              f"(limit {TOL:g})")
        ok &= good
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mpirun", required=True)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--sputnik", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ok = check_collectives(a)
    ok &= check_abort(a)
    ok &= check_train(a)
    print("ALL OK" if ok else "FAILURES")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
