#!/usr/bin/env bash
# The main job end to end, on a small checkpoint prepared here (no downloads): a random
# Qwen2-shaped Hugging Face folder with the real Qwen tokenizer and a QwQ-style chat template,
# converted to a Q8_0 GGUF, then described, run with the chat template and benchmarked.
# The weights are random, so the text is gibberish; point `-m` at a real model for real answers.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/sputnik ] || scripts/build.sh release
out=${DEMO_DIR:-build/demo}
mkdir -p "$out"

echo "== preparing a small random checkpoint in $out/tiny-qwen"
/usr/bin/python3 tests/server/make_tiny_model.py "$out/tiny-qwen" --hidden 256 --layers 4 --heads 4 \
  --kv-heads 2 --ffn 512 >/dev/null
build/sputnik info -m "$out/tiny-qwen"

echo; echo "== converting to GGUF (Q8_0), loadable by llama.cpp too"
build/sputnik quantize -m "$out/tiny-qwen" -o "$out/tiny-qwen-q8_0.gguf" --type q8_0

echo; echo "== sputnik run (chat template applied; the model starts inside <think>)"
build/sputnik run -m "$out/tiny-qwen-q8_0.gguf" -p "Why is the sky blue?" -n 40 --seed 1 -v

echo; echo "== sputnik bench"
build/sputnik bench -m "$out/tiny-qwen-q8_0.gguf" -p 256 -n 64

echo; echo "Next: build/sputnik serve -m $out/tiny-qwen-q8_0.gguf  (then open http://127.0.0.1:8080/)"
