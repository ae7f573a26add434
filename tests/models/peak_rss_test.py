"""Issue 2, point 7: peak RSS <= weights + KV cache + 10% (mmap'd weights are not copied).

Writes a random HF checkpoint with a real-sized vocabulary (bench/compare/make_hf_model.py:
qwen2-tiny has Qwen2's 151,936 tokens, deepseek2-tiny DeepSeek-V3's 129,280), turns it into a
Q8_0 GGUF with `sputnik quantize`, runs `sputnik bench --json` and checks its peak RSS (VmHWM)
against weights_bytes + kv_bytes + 10% + FIXED. FIXED covers what does not scale with the model:
the binary and its shared libraries (~14 MiB resident: libcrypto, OpenBLAS, libstdc++, ICU, ...)
and a little scratch. At these sizes (20-50 MB of weights) a copy of the weights, or the
vocabulary held as JSON strings (which cost ~40 MB before load_gguf left it in the file),
breaks the bound.

Then `sputnik run -p TEXT` on the same file, which also holds the tokenizer: its bound adds
TOKENIZER for the ~150k-token vocabulary the tokenizer keeps (~19 MB as one string buffer with
an index, and the merge table). Vocabulary strings held in hash maps (~41 MB), or the
vocabulary's transient parse (~40 MB more) stacked on resident weights, break it.

    /usr/bin/python3 peak_rss_test.py SPUTNIK WORK_DIR
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_HF = os.path.join(HERE, "..", "..", "bench", "compare", "make_hf_model.py")
MIB = 1 << 20
FIXED = 24 * MIB
TOKENIZER = 24 * MIB
RUN_CTX = 128


def run_peak_rss(cmd, work):
    """Runs cmd; returns (exit status, peak RSS in bytes from wait4's ru_maxrss, stdout + stderr)."""
    log = os.path.join(work, "run.log")
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
    with open(log) as f:
        return proc.returncode, usage.ru_maxrss * 1024, f.read()


def main():
    sputnik, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    failures = []
    for preset in ("qwen2-tiny", "deepseek2-tiny"):
        hf = os.path.join(work, "hf-" + preset)
        gguf = os.path.join(work, preset + "-q8_0.gguf")
        if not os.path.isdir(hf):
            shutil.rmtree(hf + ".part", ignore_errors=True)
            subprocess.run([sys.executable, MAKE_HF, preset, hf + ".part"], check=True, stdout=subprocess.DEVNULL)
            os.replace(hf + ".part", hf)
        if not os.path.exists(gguf):  # renamed into place, so an interrupted run leaves no half file
            subprocess.run([sputnik, "quantize", "-m", hf, "-o", gguf + ".part", "--type", "q8_0"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            os.replace(gguf + ".part", gguf)
        # With 32 tokens of context before the decode test (-d): its cache counts in the bound too.
        out = subprocess.run([sputnik, "bench", "-m", gguf, "-p", "64", "-n", "16", "-d", "32", "-t", "2", "--json"],
                             check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        if r.get("depth") != 32 or not r["decode_tps"] > 0:
            failures.append(f"{preset}: bench -d 32 reported depth {r.get('depth')}, decode {r['decode_tps']} tok/s")
        if preset == "qwen2-tiny":  # --probe: decode against the read bandwidth around it
            p = json.loads(subprocess.run([sputnik, "bench", "-m", gguf, "-p", "8", "-n", "8", "-t", "2", "--json",
                                           "--probe", "3"], check=True, capture_output=True, text=True).stdout)
            if not (p.get("probe_pairs") == 3 and 0 < p["decode_probe_ratio_median"] < 100
                    and p["probe_best_gbps"] > 0.1 and p["decode_best_gbps"] > 0):
                failures.append(f"{preset}: bench --probe 3 gave {p}")
            # The per-run numbers behind the medians: each run between the read before and after it
            # (each read is the next run's "before"), the medians recomputed from them.
            # A fourth number per run: the read of the model's own decode layout right after it
            # (0 where the weights stay as stored, e.g. without AVX-512).
            runs = p.get("probe_runs", [])
            if not all(len(r) == 4 and r[3] >= 0 for r in runs):
                failures.append(f"{preset}: bench --probe 3 runs are not [decode, before, after, weights]: {runs}")
                runs = [r + [0] * (4 - len(r)) for r in runs]
            ratios = sorted(d / max(b, a) for d, b, a, _ in runs)
            best = max([r[1] for r in runs] + [r[2] for r in runs], default=0)
            fast = sorted(d / max(b, a) for d, b, a, _ in runs if min(b, a) >= 0.85 * best)
            by_weights = sorted(d / w for d, b, a, w in runs if w > 0 and min(b, a) >= 0.85 * best)
            by_weights_median = (by_weights[(len(by_weights) - 1) // 2] + by_weights[len(by_weights) // 2]) / 2 \
                if by_weights else 0
            if abs(by_weights_median - p.get("decode_weights_read_ratio_median_fast", -1)) >= 1e-3:
                failures.append(f"{preset}: bench --probe 3 decode ÷ weights read disagrees with its runs: {p}")
            if not (len(runs) == 3 and all(runs[i][2] == runs[i + 1][1] for i in range(len(runs) - 1))
                    and abs(ratios[1] - p["decode_probe_ratio_median"]) < 1e-3
                    and abs(best - p["probe_best_gbps"]) < 2e-3 and p["probe_fast_runs"] == len(fast)
                    and (not fast or abs(fast[(len(fast) - 1) // 2] + fast[len(fast) // 2]
                                         - 2 * p["decode_probe_ratio_median_fast"]) < 2e-3)
                    and p["probe_fast_runs"] + p["probe_slow_runs"] <= 3):
                failures.append(f"{preset}: bench --probe 3 per-run numbers disagree with its medians: {p}")
            if p["peak_rss_bytes"] > 1.10 * (p["weights_bytes"] + p["kv_bytes"]) + FIXED:
                failures.append(f"{preset}: bench --probe counted the probe's buffer in the peak RSS")
        weights, kv, peak = r["weights_bytes"], r["kv_bytes"], r["peak_rss_bytes"]
        limit = 1.10 * (weights + kv) + FIXED
        print(f"{preset}: peak RSS {peak / MIB:.1f} MiB, weights {weights / MIB:.1f} MiB + KV {kv / MIB:.2f} MiB"
              f" -> {peak / (weights + kv):.3f}x; limit {limit / MIB:.1f} MiB")
        # The decode must have touched (nearly) all weights: a VmHWM misread as 0 passes nothing.
        if peak < 0.9 * weights:
            failures.append(f"{preset}: peak RSS {peak} is below the weights' {weights} bytes: not measured?")
        if peak > limit:
            failures.append(f"{preset}: peak RSS {peak / MIB:.1f} MiB over the limit {limit / MIB:.1f} MiB")

        # `run` holds the tokenizer too; its cache has RUN_CTX tokens (bench's kv_bytes is per
        # token times prompt + depth + gen + 1).
        run_kv = kv / (64 + 32 + 16 + 1) * RUN_CTX
        rc, run_peak, log = run_peak_rss([sputnik, "run", "-m", gguf, "-p", "Why is the sky blue?", "-n", "8",
                                          "-c", str(RUN_CTX), "-t", "2", "--temp", "0"], work)
        run_limit = 1.10 * (weights + run_kv) + FIXED + TOKENIZER
        print(f"{preset}: run peak RSS {run_peak / MIB:.1f} MiB; limit {run_limit / MIB:.1f} MiB")
        if rc != 0:
            failures.append(f"{preset}: sputnik run failed ({rc}): {log[-500:]}")
        elif run_peak < 0.9 * weights:
            failures.append(f"{preset}: run peak RSS {run_peak} is below the weights' {weights} bytes: not measured?")
        elif run_peak > run_limit:
            failures.append(f"{preset}: run peak RSS {run_peak / MIB:.1f} MiB over the limit {run_limit / MIB:.1f} MiB")
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
