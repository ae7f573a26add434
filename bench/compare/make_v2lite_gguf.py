"""Writes a DeepSeek-V2-Lite-shaped GGUF (deepseek2, 27 layers, ~15.7B params) with random Q4_0
weights straight to disk: going through an f32 HF folder would need ~64 GB.

    PYTHONPATH=/work/llama.cpp/gguf-py /usr/bin/python3 make_v2lite_gguf.py OUT.gguf [--layers N]

Metadata follows llama.cpp's convert_hf_to_gguf.py (DeepseekV2Model) for the real V2-Lite
config.json; every matrix is Q4_0 ("pure", like `llama-quantize --pure`), norms and the router
stay F32 as the converter leaves them. The vocabulary is the DeepSeek-V3 tokenizer cut to
V2-Lite's 102400 ids (merges whose pieces fall outside are dropped), which is enough for both
engines to load and to tokenize text. Random Q4_0 blocks get fp16 scales of 1/(4.6*sqrt(cols)),
so a weight has std ~1/sqrt(fan_in) and activations stay finite through the layers.
"""
import argparse
import json
import os

import sys
import types

import numpy as np

try:
    import sentencepiece  # noqa: F401  (gguf-py's vocab module imports it; unused here)
except ImportError:
    sys.modules["sentencepiece"] = types.SimpleNamespace(SentencePieceProcessor=None)
import gguf  # noqa: E402  (from /work/llama.cpp/gguf-py via PYTHONPATH)

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "..", "tests", "node_modules", "@lenml", "tokenizer-deepseek_v3",
                         "models", "tokenizer.json")

# DeepSeek-V2-Lite config.json
D, N_LAYER, N_HEAD, VOCAB = 2048, 27, 16, 102400
KV_LORA, NOPE, ROPE, V_HEAD = 512, 128, 64, 128
N_EXPERT, N_USED, N_SHARED, FF_EXP, FF_DENSE, N_DENSE = 64, 6, 2, 1408, 10944, 1


def add_metadata(w, n_layer):
    w.add_name("DeepSeek-V2-Lite-shape random Q4_0")
    w.add_block_count(n_layer)
    w.add_context_length(163840)
    w.add_embedding_length(D)
    w.add_feed_forward_length(FF_DENSE)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_expert_used_count(N_USED)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    w.add_leading_dense_block_count(N_DENSE)
    w.add_vocab_size(VOCAB)
    w.add_kv_lora_rank(KV_LORA)
    w.add_key_length(NOPE + ROPE)
    w.add_value_length(V_HEAD)
    w.add_expert_feed_forward_length(FF_EXP)
    w.add_expert_count(N_EXPERT)
    w.add_expert_shared_count(N_SHARED)
    w.add_expert_weights_scale(1.0)
    w.add_expert_weights_norm(False)
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SOFTMAX)
    w.add_rope_dimension_count(ROPE)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(40.0)
    w.add_rope_scaling_orig_ctx_len(4096)
    w.add_rope_scaling_yarn_log_mul(0.1 * 0.707)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)


def add_tokenizer(w):
    with open(TOKENIZER, encoding="utf-8") as f:
        tok = json.load(f)
    by_id = {i: t for t, i in tok["model"]["vocab"].items() if i < VOCAB}
    special = {a["id"] for a in tok["added_tokens"] if a["special"] and a["id"] < VOCAB}
    for a in tok["added_tokens"]:
        if a["id"] < VOCAB:
            by_id[a["id"]] = a["content"]
    tokens, types = [], []
    for i in range(VOCAB):
        if i in by_id:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL)
        else:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
    known = set(tokens)
    merges = []
    for m in tok["model"]["merges"]:
        a, b = m.split(" ", 1) if isinstance(m, str) else m
        if a in known and b in known and a + b in known:
            merges.append(f"{a} {b}")
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("deepseek-v3")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_pad_token_id(1)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)


def tensors(n_layer):
    """(name, numpy-order shape, quantized?) in file order."""
    yield "token_embd.weight", (VOCAB, D), True
    for i in range(n_layer):
        b = f"blk.{i}."
        yield b + "attn_norm.weight", (D,), False
        yield b + "attn_q.weight", (N_HEAD * (NOPE + ROPE), D), True
        yield b + "attn_kv_a_mqa.weight", (KV_LORA + ROPE, D), True
        yield b + "attn_kv_a_norm.weight", (KV_LORA,), False
        yield b + "attn_kv_b.weight", (N_HEAD * (NOPE + V_HEAD), KV_LORA), True
        yield b + "attn_output.weight", (D, N_HEAD * V_HEAD), True
        yield b + "ffn_norm.weight", (D,), False
        if i < N_DENSE:
            yield b + "ffn_gate.weight", (FF_DENSE, D), True
            yield b + "ffn_up.weight", (FF_DENSE, D), True
            yield b + "ffn_down.weight", (D, FF_DENSE), True
            continue
        yield b + "ffn_gate_inp.weight", (N_EXPERT, D), False
        yield b + "ffn_gate_exps.weight", (N_EXPERT, FF_EXP, D), True
        yield b + "ffn_up_exps.weight", (N_EXPERT, FF_EXP, D), True
        yield b + "ffn_down_exps.weight", (N_EXPERT, D, FF_EXP), True
        yield b + "ffn_gate_shexp.weight", (FF_EXP * N_SHARED, D), True
        yield b + "ffn_up_shexp.weight", (FF_EXP * N_SHARED, D), True
        yield b + "ffn_down_shexp.weight", (D, FF_EXP * N_SHARED), True
    yield "output_norm.weight", (D,), False
    yield "output.weight", (VOCAB, D), True


def q4_0_bytes(shape, rng):
    cols = shape[-1]
    blocks = int(np.prod(shape)) // 32
    out = np.empty((blocks, 18), dtype=np.uint8)
    out[:, :2] = np.frombuffer(np.float16(1.0 / (4.6 * cols ** 0.5)).tobytes(), dtype=np.uint8)
    out[:, 2:] = np.frombuffer(rng.bytes(blocks * 16), dtype=np.uint8).reshape(blocks, 16)
    return out.reshape(tuple(shape[:-1]) + (cols // 32 * 18,))


def f32_data(name, shape, rng):
    if name.endswith("ffn_gate_inp.weight"):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(3.0 / D ** 0.5))
    return (1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)).astype(np.float32)  # norms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=N_LAYER, help="fewer layers for a quick try")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    w = gguf.GGUFWriter(a.out, "deepseek2")
    add_metadata(w, a.layers)
    add_tokenizer(w)
    plan = list(tensors(a.layers))
    for name, shape, quant in plan:
        if quant:
            nbytes = int(np.prod(shape)) // 32 * 18
            byte_shape = tuple(shape[:-1]) + (shape[-1] // 32 * 18,)
            w.add_tensor_info(name, byte_shape, np.dtype(np.uint8), nbytes, raw_dtype=gguf.GGMLQuantizationType.Q4_0)
        else:
            w.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for k, (name, shape, quant) in enumerate(plan):
        w.write_tensor_data(q4_0_bytes(shape, rng) if quant else f32_data(name, shape, rng))
        print(f"\r{k + 1}/{len(plan)} tensors", end="", flush=True)
    w.close()
    print(f"\nwrote {a.out} ({os.path.getsize(a.out)} bytes)")


if __name__ == "__main__":
    main()
