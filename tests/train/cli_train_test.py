#!/usr/bin/python3
"""End-to-end `sputnik train` through the real CLI: train a tiny Qwen2 from scratch on a small
repetitive corpus, check the log/curve/checkpoint files, generate from the checkpoint with
`sputnik run` (greedy: it must continue a sentence of the corpus), resume a killed run and get the
uninterrupted run's losses exactly, and fail cleanly on a broken shard.

usage: cli_train_test.py SPUTNIK_BINARY WORK_DIR
"""
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

SENTENCES = [[1, 5, 9, 13, 17, 21, 2], [1, 6, 10, 14, 18, 22, 26, 2], [1, 7, 11, 15, 19, 2],
             [1, 8, 12, 16, 20, 24, 28, 30, 2]]


def run(args, check=True):
    p = subprocess.run(args, capture_output=True, text=True, timeout=240)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def bytes_to_unicode():
    """GPT-2's byte -> printable character table (the ByteLevel alphabet of HF tokenizers)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def write_byte_tokenizer(folder):
    """A byte-level BPE without merges: token id = byte value, plus ChatML's two special tokens."""
    table = bytes_to_unicode()
    special = [{"id": 256 + i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True} for i, c in enumerate(["<|im_start|>", "<|im_end|>"])]
    tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": special, "normalizer": None,
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
           "post_processor": None,
           "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
           "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                     "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                     "vocab": {table[b]: b for b in range(256)}, "merges": []}}
    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    template = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": None, "eos_token": "<|im_end|>", "chat_template": template}, f)


QA = [("sky?", "blue"), ("grass?", "green"), ("snow?", "white"), ("coal?", "black")]


def sft_round_trip(sputnik, work):
    """--sft: ChatML conversations, loss on the answers only; the model then answers in `run`."""
    folder = os.path.join(work, "sft_model")
    os.makedirs(folder)
    write_byte_tokenizer(folder)
    config = {"model_type": "qwen2", "vocab_size": 258, "hidden_size": 64, "intermediate_size": 128,
              "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
              "tie_word_embeddings": True}
    cfg = os.path.join(folder, "config.json")
    with open(cfg, "w") as f:
        json.dump(config, f)
    rng = random.Random(11)
    data = os.path.join(work, "chat.jsonl")
    with open(data, "w") as f:
        for _ in range(400):
            q, a = QA[rng.randrange(len(QA))]
            f.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}) + "\n")
    out = os.path.join(work, "sft_out")
    run([sputnik, "train", "--model-config", cfg, "--sft", data, "--steps", "150", "--batch", "8", "--seq", "64",
         "--lr", "1e-2", "--warmup", "10", "--out", out, "-t", "2", "-q"])
    # The masks: in each conversation exactly the answer's bytes and its <|im_end|> are targets.
    with open(os.path.join(out, "sft.bin"), "rb") as f:
        ids = list(struct.unpack(f"<{os.path.getsize(f.name) // 4}I", f.read()))
    with open(os.path.join(out, "sft.mask"), "rb") as f:
        mask = f.read()
    with open(os.path.join(out, "sft.idx"), "rb") as f:
        idx = list(struct.unpack(f"<{os.path.getsize(f.name) // 8}Q", f.read()))
    with open(data) as f:
        convs = [json.loads(line) for line in f]
    assert len(idx) == len(convs) + 1 and idx[-1] == len(ids) == len(mask)
    for d in range(0, len(convs), 37):
        lo, hi = idx[d], idx[d + 1]
        kept = [ids[i] for i in range(lo, hi) if mask[i]]
        answer = convs[d]["messages"][1]["content"]
        assert kept == list(answer.encode()) + [257], (d, kept, answer)
    log = read_log(os.path.join(out, "log.jsonl"))
    print(f"sft loss {log[0]['loss']:.3f} -> {log[-1]['loss']:.3f}")
    assert log[-1]["loss"] < 0.25 * log[0]["loss"]
    for q, a in QA:
        g = run([sputnik, "run", "-m", os.path.join(out, "final"), "-p", q, "-n", "12", "--temp", "0"])
        assert g.stdout.strip() == a, (q, g.stdout)


def main():
    sputnik, work = sys.argv[1], sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    config = {"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"], "vocab_size": 32, "hidden_size": 48,
              "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
              "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
              "tie_word_embeddings": False}
    cfg = os.path.join(work, "config.json")
    with open(cfg, "w") as f:
        json.dump(config, f)
    rng = random.Random(7)
    tokens = []
    while len(tokens) < 20000:
        tokens += SENTENCES[rng.randrange(len(SENTENCES))]
    data = os.path.join(work, "corpus.bin")
    with open(data, "wb") as f:
        f.write(struct.pack(f"<{len(tokens)}I", *tokens))

    out = os.path.join(work, "out")
    common = ["--model-config", cfg, "--data", data, "--batch", "8", "--seq", "32", "--lr", "1e-2", "--warmup", "5",
              "--seed", "3", "-t", "2"]
    p = run([sputnik, "train", *common, "--steps", "60", "--eval-every", "20", "--out", out])
    assert "step 60/60" in p.stderr, p.stderr  # plain progress lines when stderr is not a terminal
    log = read_log(os.path.join(out, "log.jsonl"))
    assert [r["step"] for r in log] == list(range(1, 61)), [r["step"] for r in log]
    for r in log:
        for key in ("loss", "lr", "tokens_per_s", "grad_norm"):
            assert isinstance(r[key], (int, float)), (key, r)
    evals = [r["eval_loss"] for r in log if "eval_loss" in r]
    assert len(evals) == 3, evals
    first, last = log[0]["loss"], sum(r["loss"] for r in log[-5:]) / 5
    print(f"loss {first:.3f} -> {last:.3f}, eval {evals}")
    assert last < 0.5 * first, (first, last)
    assert evals[-1] < evals[0], evals

    svg = ET.parse(os.path.join(out, "loss.svg")).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    lines = {e.get("class"): e for e in svg.iter(ns + "polyline")}
    assert len(lines["train"].get("points").split()) == 60, lines["train"].get("points")
    assert len(lines["eval"].get("points").split()) == 3
    assert sum(1 for e in svg.iter(ns + "line") if e.get("class") == "xtick") >= 3

    final = os.path.join(out, "final")
    for name in ("config.json", "model.safetensors", "trainer_state.json", "trainer_state.safetensors"):
        assert os.path.exists(os.path.join(final, name)), name
    with open(os.path.join(final, "config.json")) as f:
        assert json.load(f)["model_type"] == "qwen2"

    # The checkpoint generates, and greedy decoding continues a sentence of the corpus.
    g = run([sputnik, "run", "-m", final, "--tokens", "1,5,9", "-n", "5", "--temp", "0"])
    ids = [int(x) for x in g.stdout.strip().split(",")]
    print("generated", ids)
    assert ids == [13, 17, 21, 2, 1], ids
    lg = run([sputnik, "logits", "-m", final, "--tokens", "1,6,10"])
    assert len(lg.stdout.strip().splitlines()) == 3

    # Kill-and-resume through the CLI gives the uninterrupted run's losses exactly.
    short = common + ["--steps", "12", "--save-every", "5", "--eval-every", "4", "-q"]
    full_out, cut_out = os.path.join(work, "full"), os.path.join(work, "cut")
    run([sputnik, "train", *short, "--out", full_out])
    run([sputnik, "train", *short, "--out", cut_out, "--stop-after", "7"])
    assert not os.path.exists(os.path.join(cut_out, "final"))
    run([sputnik, "train", *short, "--out", cut_out, "--resume", cut_out])
    a, b = read_log(os.path.join(full_out, "log.jsonl")), read_log(os.path.join(cut_out, "log.jsonl"))
    assert [r["loss"] for r in a] == [r["loss"] for r in b], ([r["loss"] for r in a], [r["loss"] for r in b])
    assert [r.get("eval_loss") for r in a] == [r.get("eval_loss") for r in b]

    # Ctrl-C: the step finishes, a checkpoint is written, and --resume continues from it.
    int_out = os.path.join(work, "interrupted")
    proc = subprocess.Popen([sputnik, "train", *common, "--steps", "100000", "--out", int_out, "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log_path = os.path.join(int_out, "log.jsonl")
    deadline = time.time() + 120
    while time.time() < deadline and (not os.path.exists(log_path) or len(read_log(log_path)) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "stopped at step" in err, (proc.returncode, err)
    steps_done = len(read_log(log_path))
    assert os.path.exists(os.path.join(int_out, f"step-{steps_done}", "trainer_state.json")), os.listdir(int_out)
    run([sputnik, "train", *common, "--steps", str(steps_done + 2), "--out", int_out, "--resume", int_out, "-q"])
    assert [r["step"] for r in read_log(log_path)] == list(range(1, steps_done + 3))

    # A broken shard is a clear error naming the file, not a crash.
    bad = os.path.join(work, "bad.bin")
    with open(bad, "wb") as f:
        f.write(b"\x01\x00\x00\x00\x02\x00")
    p = run([sputnik, "train", "--model-config", cfg, "--data", bad, "--out", os.path.join(work, "bad")], check=False)
    assert p.returncode == 1 and "bad.bin" in p.stderr, (p.returncode, p.stderr)
    sft_round_trip(sputnik, work)
    print("OK")


if __name__ == "__main__":
    main()
