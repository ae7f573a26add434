#!/usr/bin/env bash
# Side-by-side speed of llama.cpp and sputnik on the same GGUF files (issue 2, point 6):
# `llama-bench -t 2 -p 512 -n 128 -r 1` and `sputnik bench -t 2 -p 512 -n 128 --json`,
# alternated per model (which engine goes first flips every round so that drifting machine load
# hits both alike), ROUNDS rounds, medians reported; plus the machine's read bandwidth from
# bandwidth_bench (2 threads, 1 GiB) before, after and right before every pair of runs (decode is
# judged against the reading next to it and against the run's best), and `uptime` at start/end.
# Then, per model, `sputnik bench --probe` (decode runs alternated with bandwidth reads in one
# process: this VM's bandwidth changes phase within seconds, see cmd_bench.cpp).
# Prints markdown tables (docs/performance.md) and leaves the raw numbers in $OUT/raw.tsv.
#
#   bench/compare/speed.sh [-r ROUNDS] MODEL.gguf ...
# Environment: SPUTNIK (default build-perf/sputnik), BANDWIDTH (default next to SPUTNIK),
# LLAMA_DIR (default /work/llama.cpp), OUT (default a new temp dir), THREADS (default 2),
# PROBE_PAIRS (default 20).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SPUTNIK="${SPUTNIK:-$ROOT/build-perf/sputnik}"
BANDWIDTH="${BANDWIDTH:-$(dirname "$SPUTNIK")/bandwidth_bench}"
LLAMA_BENCH="${LLAMA_DIR:-/work/llama.cpp}/build/bin/llama-bench"
THREADS="${THREADS:-2}"
ROUNDS=3
if [ "${1:-}" = "-r" ]; then ROUNDS="$2"; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-r ROUNDS] MODEL.gguf ..." >&2; exit 2; }
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
RAW="$OUT/raw.tsv"
: >"$RAW"

bandwidth() {  # GB/s of a 2-thread streaming read of 1 GiB
  "$BANDWIDTH" --benchmark_filter="BM_ReadBandwidth/$THREADS/1024" --benchmark_format=json 2>/dev/null |
    /usr/bin/python3 -c "import json,sys; print(round(json.load(sys.stdin)['benchmarks'][0]['GB/s'], 2))"
}

run_llama() {  # model round -> rows "model round llama.cpp pp|tg tok/s"
  "$LLAMA_BENCH" -m "$1" -t "$THREADS" -p 512 -n 128 -r 1 -o jsonl 2>/dev/null |
    /usr/bin/python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    test = 'pp' if r['n_prompt'] else 'tg'
    print(f'$1\t$2\tllama.cpp\t{test}\t{r[\"avg_ts\"]:.3f}')" >>"$RAW"
}

run_sputnik() {
  "$SPUTNIK" bench -m "$1" -t "$THREADS" -p 512 -n 128 --json 2>/dev/null | tail -1 |
    /usr/bin/python3 -c "
import json, sys
r = json.load(sys.stdin)
print(f'$1\t$2\tsputnik\tpp\t{r[\"prefill_tps\"]:.3f}')
print(f'$1\t$2\tsputnik\ttg\t{r[\"decode_tps\"]:.3f}')
print(f'$1\t$2\tsputnik\tbytes\t{r[\"active_weight_bytes\"]:.0f}')" >>"$RAW"
}

load_start="$(uptime | sed 's/.*load average: //')"
date_start="$(date -u +%H:%M)"
bw_start="$(bandwidth)"
for ((r = 1; r <= ROUNDS; r++)); do
  for m in "$@"; do
    # The probe right before each pair: this VM's bandwidth swings (34-63 GB/s within an hour),
    # so decode is also judged against the reading taken next to it.
    printf '%s\t%s\tprobe\tbw\t%s\n' "$m" "$r" "$(bandwidth)" >>"$RAW"
    if ((r % 2)); then run_llama "$m" "$r"; run_sputnik "$m" "$r"
    else run_sputnik "$m" "$r"; run_llama "$m" "$r"; fi
    echo "round $r $(basename "$m") done ($(uptime | sed 's/.*load average: //'))" >&2
  done
done
bw_end="$(bandwidth)"
# Decode against the bandwidth read around it, inside one process (sputnik bench --probe):
# PROBE_PAIRS short decode runs (tg32), each between two reads of a 512 MiB buffer.
for m in "$@"; do
  "$SPUTNIK" bench -m "$m" -t "$THREADS" -p 16 -n 32 --probe "${PROBE_PAIRS:-20}" --json 2>/dev/null | tail -1 |
    /usr/bin/python3 -c "
import json, sys
r = json.load(sys.stdin)
print(f'$m\t0\tsputnik\tprobe_median\t{r[\"decode_probe_ratio_median\"]:.4f}')
print(f'$m\t0\tsputnik\tprobe_best_decode\t{r[\"decode_best_gbps\"]:.3f}')
print(f'$m\t0\tsputnik\tprobe_best_read\t{r[\"probe_best_gbps\"]:.3f}')
for phase in ('fast', 'slow'):
    print(f'$m\t0\tsputnik\tprobe_{phase}_runs\t{r[\"probe_\" + phase + \"_runs\"]}')
    print(f'$m\t0\tsputnik\tprobe_{phase}_median\t{r[\"decode_probe_ratio_median_\" + phase]:.4f}')" >>"$RAW"
done
load_end="$(uptime | sed 's/.*load average: //')"
date_end="$(date -u +%H:%M)"

/usr/bin/python3 - "$RAW" "$bw_start" "$bw_end" <<'EOF'
import collections, os, statistics, sys
raw, bw_start, bw_end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
vals = collections.defaultdict(list)
order = []
for line in open(raw):
    m, r, eng, test, v = line.rstrip("\n").split("\t")
    if m not in order:
        order.append(m)
    vals[(m, eng, test)].append(float(v))
med = lambda k: statistics.median(vals[k]) if vals[k] else float("nan")
# The machine's bandwidth: the best of all readings (a lower one is load from elsewhere).
bw = max([bw_start, bw_end] + [v for (m, e, t), vs in vals.items() if e == "probe" for v in vs])
print("| model (GGUF) | prefill pp512 llama.cpp | prefill sputnik | × | decode tg128 llama.cpp | decode sputnik | × "
      "| sputnik decode GB/s | probe GB/s next to it | % of that probe | % of the run's best probe "
      "| best round ÷ best probe | llama.cpp GB/s | llama.cpp % of that probe | llama.cpp best ÷ best probe |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for m in order:
    lp, sp = med((m, "llama.cpp", "pp")), med((m, "sputnik", "pp"))
    lt, st = med((m, "llama.cpp", "tg")), med((m, "sputnik", "tg"))
    b = med((m, "sputnik", "bytes"))
    probes = vals[(m, "probe", "bw")]
    # Per round: decode GB/s over the probe taken just before that round's pair; then the median.
    s_frac = [b * s / 1e9 / p for s, p in zip(vals[(m, "sputnik", "tg")], probes)]
    l_frac = [b * l / 1e9 / p for l, p in zip(vals[(m, "llama.cpp", "tg")], probes)]
    pm = statistics.median(probes) if probes else float("nan")
    sf = 100 * statistics.median(s_frac) if s_frac else float("nan")
    lf = 100 * statistics.median(l_frac) if l_frac else float("nan")
    # Both at the machine's best moment: the fastest decode round against the fastest probe
    # reading (the bandwidth swings within seconds here, so a reading next to a run can miss it).
    sb = 100 * b * max(vals[(m, "sputnik", "tg")], default=float("nan")) / 1e9 / bw
    lb = 100 * b * max(vals[(m, "llama.cpp", "tg")], default=float("nan")) / 1e9 / bw
    print(f"| {os.path.basename(m)} | {lp:.1f} | {sp:.1f} | {sp / lp:.2f} | {lt:.2f} | {st:.2f} | {st / lt:.2f} "
          f"| {b * st / 1e9:.2f} | {pm:.1f} | {sf:.0f}% | {100 * b * st / 1e9 / bw:.0f}% | {sb:.0f}% "
          f"| {b * lt / 1e9:.2f} | {lf:.0f}% | {lb:.0f}% |")
print()
print("Decode against the read bandwidth around it (`sputnik bench -p 16 -n 32 --probe N`: N tg32 runs, "
      "each between two reads of 512 MiB; a run is compared with the faster of its two reads; a run is in the "
      "fast phase when both reads are >= 85% of the best read, in the slow one when both are <= 75%):")
print()
print("| model (GGUF) | median decode ÷ read around it | fast-phase runs: median (n) | slow-phase runs: median (n) "
      "| best decode GB/s | best read GB/s | best ÷ best |")
print("|---|---:|---:|---:|---:|---:|---:|")
for m in order:
    if not vals[(m, "sputnik", "probe_median")]:
        continue
    d, rd = vals[(m, "sputnik", "probe_best_decode")][0], vals[(m, "sputnik", "probe_best_read")][0]
    phases = [f"{100 * vals[(m, 'sputnik', f'probe_{ph}_median')][0]:.1f}% "
              f"({vals[(m, 'sputnik', f'probe_{ph}_runs')][0]:.0f})"
              if vals[(m, 'sputnik', f'probe_{ph}_runs')][0] else "– (0)" for ph in ("fast", "slow")]
    print(f"| {os.path.basename(m)} | {100 * vals[(m, 'sputnik', 'probe_median')][0]:.1f}% | {phases[0]} | {phases[1]} "
          f"| {d:.2f} | {rd:.2f} | {100 * d / rd:.1f}% |")
print()
print(f"rounds per cell: {len(vals[(order[0], 'sputnik', 'tg')])} (median); read bandwidth (bandwidth_bench, "
      f"2 threads, 1 GiB): {bw_start} GB/s before, {bw_end} GB/s after, {bw} the best reading of the run "
      f"(before, after and next to every pair)")
EOF
echo "load average (1/5/15 min): $load_start at $date_start UTC; $load_end at $date_end UTC"
echo "raw numbers: $RAW"
