#!/usr/bin/env bash
# Server benchmark and load test (loopback only):
#   1. aggregate decode tokens/s with 8 concurrent streams vs 1 stream on the same model
#      (tests/server/concurrency_test.mjs), on a random Qwen2 checkpoint big enough that the
#      forward pass, not HTTP, is the cost;
#   2. wrk (Debian) against GET /health, GET /v1/models and POST /v1/chat/completions.
# usage: bench/server_bench.sh BUILD_DIR [MODEL_DIR]   (prints the figures)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: bench/server_bench.sh BUILD_DIR [MODEL_DIR]}
bin=$build/sputnik
model=${2:-$build/server-bench-model}
if [ ! -f "$model/config.json" ]; then
  /usr/bin/python3 tests/server/make_tiny_model.py "$model" --hidden 512 --layers 8 --heads 8 --kv-heads 2 --ffn 1536
fi

echo "== batching: 1 vs 8 concurrent streams =="
(cd tests/server && node concurrency_test.mjs "$bin" "$model" 64)

echo "== wrk load test =="
port=18089
"$bin" serve -m "$model" --port $port --parallel 8 --ctx 1024 -t 1 > /tmp/sputnik-bench-serve.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/health >/dev/null && break; sleep 0.2; done
lua=$(mktemp --suffix .lua)
cat > "$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"max_reasoning_tokens":1,"temperature":0}'
LUA
wrk -t2 -c64 -d10s http://127.0.0.1:$port/health
wrk -t2 -c64 -d10s http://127.0.0.1:$port/v1/models
wrk -t2 -c32 -d20s --timeout 30s -s "$lua" http://127.0.0.1:$port/v1/chat/completions
curl -s http://127.0.0.1:$port/metrics | grep -E '^sputnik_(requests_total|max_batch|active|queue|generated)'
kill -TERM $pid
wait $pid
echo "server exit status: $?"
rm -f "$lua"
