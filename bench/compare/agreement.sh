#!/usr/bin/env bash
# Numeric agreement between sputnik and llama.cpp on the same GGUF files (issue 2, point 3):
#   - logits of a tokenized prompt (llama_ref.cpp against libllama vs `sputnik logits`):
#     max |Δ|, argmax agreement per position;
#   - 32 greedy tokens (llama_ref vs `sputnik run --tokens … --temp 0 -n 32`);
#   - perplexity (`llama-perplexity` vs `sputnik perplexity`, -c 128 --chunks 4).
# The models are tiny random qwen2 / deepseek2 (V2-Lite layout) checkpoints written by
# make_hf_model.py and converted by `sputnik quantize` (f32 and q8_0); llama.cpp must load them
# as they are. The KV cache of llama.cpp is set to f32 (its default is f16) so that the logits
# compare the engines' math rather than the cache's rounding; the perplexity runs use the same.
#
#   bench/compare/agreement.sh [MODEL.gguf ...]
# Environment: SPUTNIK (default build-perf/sputnik), LLAMA_DIR (default /work/llama.cpp),
# MODELS (default /work/bench-models), TEXT (default /usr/share/common-licenses/GPL-3).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SPUTNIK="${SPUTNIK:-$ROOT/build-perf/sputnik}"
LLAMA_DIR="${LLAMA_DIR:-/work/llama.cpp}"
MODELS="${MODELS:-/work/bench-models}"
TEXT="${TEXT:-/usr/share/common-licenses/GPL-3}"
PY=/usr/bin/python3
BIN="$LLAMA_DIR/build/bin"
N_GREEDY=32
PROMPT="The GNU General Public License is a free, copyleft license for software and other kinds of works."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

[ -x "$SPUTNIK" ] || { echo "no sputnik binary at $SPUTNIK (set SPUTNIK=)" >&2; exit 1; }
[ -x "$BIN/llama-perplexity" ] || { echo "no llama.cpp build at $LLAMA_DIR" >&2; exit 1; }

# llama.cpp side of the logits/greedy check: our own small program against libllama.
g++ -O2 -std=c++17 -I"$LLAMA_DIR/include" -I"$LLAMA_DIR/ggml/include" "$HERE/llama_ref.cpp" \
  -o "$WORK/llama_ref" -L"$BIN" -lllama -Wl,-rpath,"$BIN"

make_models() {
  mkdir -p "$MODELS"
  for preset in qwen2-tiny deepseek2-tiny; do
    [ -f "$MODELS/hf-$preset/model.safetensors" ] || "$PY" "$HERE/make_hf_model.py" "$preset" "$MODELS/hf-$preset"
    for t in f32 q8_0; do
      [ -f "$MODELS/$preset-$t.gguf" ] ||
        "$SPUTNIK" quantize -m "$MODELS/hf-$preset" -o "$MODELS/$preset-$t.gguf" --type "$t" >/dev/null
    done
  done
}

if [ $# -eq 0 ]; then
  make_models
  set -- "$MODELS"/qwen2-tiny-f32.gguf "$MODELS"/qwen2-tiny-q8_0.gguf \
         "$MODELS"/deepseek2-tiny-f32.gguf "$MODELS"/deepseek2-tiny-q8_0.gguf
fi

for model in "$@"; do
  name="$(basename "$model")"
  # Prompt ids from llama.cpp's tokenizer (BOS as the file says), so both engines see the same ids.
  ids="$("$BIN/llama-tokenize" -m "$model" -p "$PROMPT" --ids --log-disable 2>/dev/null | tail -1 | tr -d '[] ')"
  "$WORK/llama_ref" "$model" "$N_GREEDY" "$ids" >"$WORK/ref.jsonl"
  "$SPUTNIK" logits -m "$model" --tokens "$ids" -t 2 >"$WORK/ours.jsonl" 2>/dev/null
  "$SPUTNIK" run -m "$model" --tokens "$ids" --temp 0 -n "$N_GREEDY" -t 2 >"$WORK/run.txt" 2>/dev/null
  cmp="$("$PY" "$HERE/compare_logits.py" "$WORK/ref.jsonl" "$WORK/ours.jsonl" "$WORK/run.txt")"

  ppl_llama="$("$BIN/llama-perplexity" -m "$model" -f "$TEXT" -c 128 --chunks 4 -t 2 -ctk f32 -ctv f32 2>&1 |
                sed -n 's/^Final estimate: PPL = \([0-9.]*\).*/\1/p')"
  ppl_ours="$("$SPUTNIK" perplexity -m "$model" -f "$TEXT" -c 128 --chunks 4 -t 2 2>/dev/null |
              sed -n 's/^ppl = \([0-9.]*\).*/\1/p')"
  rel="$("$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{abs(a-b)/a:.2e}')" \
         "${ppl_llama:-nan}" "${ppl_ours:-nan}")"
  echo "$name: prompt ${ids//,/ } | $cmp | ppl llama.cpp=$ppl_llama sputnik=$ppl_ours rel_diff=$rel"
done
