#!/usr/bin/env bash
# Side-by-side training speed of sputnik and PyTorch (issue 5, point 7) on the two benchmark
# models (bench/train_bench.cpp and bench/compare/train_speed.py define the same ones): (a) a
# DeepSeek-V3-style MoE and (b) a dense Qwen2-style model, batch 8 × seq 256, one step = forward +
# backward + clipping + AdamW. Engines alternate per model and round (who goes first flips every
# round, so drifting machine load hits both alike); medians over ROUNDS. Also measures the GEMM
# peaks (OpenBLAS sgemm, our bf16 GEMM) that MFU is reported against, before and after.
# Prints a markdown table; raw numbers stay in $OUT/raw.tsv.
#
#   bench/compare/train_speed.sh [-r ROUNDS]
# Environment: BENCH (default build-trainperf/train_bench), THREADS (default 2), OUT (default a
# new temp dir), TORCH_STEPS (default 4, after 1 warmup step).
set -euo pipefail
# Both engines get OpenMP-threaded OpenBLAS (Debian libopenblas0-openmp, installed by setup.sh but
# not the system default): PyTorch's own OpenMP threads and the pthread OpenBLAS fight over the 2
# cores and make PyTorch ~2-3x slower, which would flatter us.
OPENMP_BLAS=/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ -d "$OPENMP_BLAS" ]; then
  export LD_LIBRARY_PATH="$OPENMP_BLAS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "BLAS: $OPENMP_BLAS (both engines)" >&2
else
  echo "BLAS: system default (install libopenblas0-openmp for a fair PyTorch)" >&2
fi
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="${BENCH:-$ROOT/build-trainperf/train_bench}"
THREADS="${THREADS:-2}"
TORCH_STEPS="${TORCH_STEPS:-4}"
ROUNDS=3
if [ "${1:-}" = "-r" ]; then ROUNDS="$2"; shift 2; fi
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
RAW="$OUT/raw.tsv"
: >"$RAW"
[ -x "$BENCH" ] || { echo "no $BENCH (configure with -DSPUTNIK_BENCH=ON and build train_bench)" >&2; exit 2; }

# bench filter -> the first benchmark's counters `keys...`, tab-separated
bench_counter() {
  local filter="$1"; shift
  "$BENCH" --benchmark_filter="$filter" --benchmark_format=json 2>/dev/null |
    /usr/bin/python3 -c "import json,sys; b=json.load(sys.stdin)['benchmarks'][0]; print('\t'.join(str(b[k]) for k in sys.argv[1:]))" "$@"
}

peaks() {  # round -> rows "peak round sgemm|bf16 GFLOP/s"
  echo -e "peak\t$1\tsgemm\t$(bench_counter "BM_PeakSgemm/threads:$THREADS/" GFLOPs)" >>"$RAW"
  echo -e "peak\t$1\tbf16\t$(bench_counter "BM_PeakBf16Gemm/threads:$THREADS/" GFLOPs)" >>"$RAW"
}

run_ours() {  # model(moe|dense) round bf16(0|1)
  local name=BM_TrainDeepSeekMoE
  [ "$1" = dense ] && name=BM_TrainQwen2Dense
  local engine=sputnik
  [ "$3" = 1 ] && engine=sputnik-bf16
  echo -e "$1\t$2\t$engine\t$(bench_counter "$name/threads:$THREADS/bf16:$3/" tokens_per_s cpu_s_per_step)" >>"$RAW"
}

run_torch() {  # model round
  local tps
  tps=$(/usr/bin/python3 "$HERE/train_speed.py" --model "$1" --threads "$THREADS" --steps "$TORCH_STEPS" |
        /usr/bin/python3 -c "import json,sys; r=json.load(sys.stdin); print(f\"{r['tokens_per_s']}\t{r['cpu_s_per_step']}\")")
  echo -e "$1\t$2\tpytorch\t$tps" >>"$RAW"
}

echo "start: $(uptime)" >"$OUT/load.txt"
peaks 0
for r in $(seq 1 "$ROUNDS"); do
  for m in moe dense; do
    if [ $((r % 2)) = 1 ]; then
      run_ours "$m" "$r" 0; run_ours "$m" "$r" 1; run_torch "$m" "$r"
    else
      run_torch "$m" "$r"; run_ours "$m" "$r" 1; run_ours "$m" "$r" 0
    fi
  done
done
peaks 1
echo "end: $(uptime)" >>"$OUT/load.txt"

/usr/bin/python3 - "$RAW" "$HERE/train_speed.py" "$OUT/load.txt" <<'PY'
import json, statistics, subprocess, sys
raw, script, load = sys.argv[1], sys.argv[2], sys.argv[3]
rows = [l.rstrip("\n").split("\t") for l in open(raw) if l.strip()]
vals, cpus = {}, {}
for model, rnd, engine, v, *cpu in rows:
    vals.setdefault((model, engine), []).append(float(v))
    if cpu:
        cpus.setdefault((model, engine), []).append(float(cpu[0]))
med = {k: statistics.median(v) for k, v in vals.items()}
cpu = {k: statistics.median(v) for k, v in cpus.items()}
sgemm, bf16 = med[("peak", "sgemm")], med[("peak", "bf16")]
flops = {m: json.loads(subprocess.check_output(["/usr/bin/python3", script, "--model", m, "--flops-only"]))
         for m in ("moe", "dense")}
print(f"GEMM peaks (median of start and end): OpenBLAS sgemm {sgemm:.0f} GFLOP/s, bf16 GEMM {bf16:.0f} GFLOP/s")
print()
print("| model | engine | tokens/s | vs PyTorch | GFLOP/s | MFU vs sgemm peak | MFU vs bf16 peak | CPU s/step | vs PyTorch (CPU) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
names = {"moe": "(a) DeepSeek-V3-style MoE", "dense": "(b) Qwen2-style dense"}
for m in ("moe", "dense"):
    f = flops[m]
    for e in ("pytorch", "sputnik", "sputnik-bf16"):
        tps = med[(m, e)]
        gf = f["flops_per_step"] / f["tokens_per_step"] * tps / 1e9
        c = cpu[(m, e)]
        print(f"| {names[m]} | {e} | {tps:,.0f} | {tps / med[(m, 'pytorch')]:.2f}× | {gf:.0f} | {gf / sgemm:.0%} | {gf / bf16:.0%} "
              f"| {c:.2f} | {cpu[(m, 'pytorch')] / c:.2f}× |")
print()
print("".join(open(load)).strip())
PY
