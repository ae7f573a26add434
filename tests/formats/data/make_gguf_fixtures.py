#!/usr/bin/python3
"""Writes the GGUF fixtures of tests/formats/gguf_*_test.cpp with llama.cpp's own gguf-py, so
sputnik's reader is checked against an independent writer.

    /usr/bin/python3 tests/formats/data/make_gguf_fixtures.py /path/to/llama.cpp

Outputs (next to this script):
  gguf_qwen2.gguf           qwen2, 1 layer, tied embeddings, q/k/v biases, YaRN, tokenizer
  gguf_deepseek2.gguf       deepseek2 as convert_hf_to_gguf.py wrote it in early 2025: q_lora,
                            fused attn_kv_b, dense layer 0, MoE layer 1, sigmoid gating, exp_probs_b
  gguf_deepseek2_split.gguf deepseek2 as newer llama.cpp writes it: attn_k_b/attn_v_b, *_mla
                            lengths, head_count_kv 1, plain attn_q, softmax gating, expert groups
  gguf_types.gguf           every tensor type sputnik reads and every metadata value type,
                            alignment 64
  gguf_fixtures.json        what each file holds, read back with gguf-py's GGUFReader: metadata
                            (key, type, value), tensors (ne, type, absolute data offset, byte
                            count, CRC-32 of the bytes, first values dequantized by gguf-py)
"""
import json
import os
import sys
import types
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

if len(sys.argv) != 2:
    sys.exit(__doc__)
sys.path.insert(0, os.path.join(sys.argv[1], "gguf-py"))
# gguf-py's vocab module imports sentencepiece at load; nothing here uses it.
sys.modules.setdefault("sentencepiece", types.SimpleNamespace(SentencePieceProcessor=None))
import gguf  # noqa: E402
from gguf import GGMLQuantizationType as Q, GGUFValueType as V  # noqa: E402

rng = np.random.RandomState(1234)


def randn(*shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def quantized(data, qtype):
    """Bytes of `data` in `qtype`, as convert_hf_to_gguf.py produces them."""
    if qtype == Q.F32:
        return data.astype(np.float32)
    if qtype == Q.F16:
        return data.astype(np.float16)
    return gguf.quants.quantize(data, qtype)


def random_kquant(shape, qtype):
    """gguf-py cannot quantize K types; random blocks with small finite scales read the same."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    rows = int(np.prod(shape[:-1]))
    nblocks = rows * shape[-1] // block
    raw = rng.randint(0, 256, size=(nblocks, size), dtype=np.uint8)
    d = np.array([0.0625], dtype=np.float16).view(np.uint8)
    dmin = np.array([0.03125], dtype=np.float16).view(np.uint8)
    if qtype == Q.Q4_K:  # d, dmin first
        raw[:, 0:2] = d
        raw[:, 2:4] = dmin
    elif qtype == Q.Q6_K:  # d last
        raw[:, size - 2:size] = d
    return raw.reshape(*shape[:-1], shape[-1] // block * size)


class Fixture:
    def __init__(self, name, arch, alignment=None):
        self.path = os.path.join(HERE, name)
        self.w = gguf.GGUFWriter(self.path, arch)
        if alignment:
            self.w.add_custom_alignment(alignment)
        self.meta = [["general.architecture", "string", arch]]
        if alignment:
            self.meta.append(["general.alignment", "u32", alignment])

    def kv(self, key, vtype, value):
        names = {V.UINT8: "u8", V.INT8: "i8", V.UINT16: "u16", V.INT16: "i16", V.UINT32: "u32",
                 V.INT32: "i32", V.FLOAT32: "f32", V.BOOL: "bool", V.STRING: "string",
                 V.ARRAY: "array", V.UINT64: "u64", V.INT64: "i64", V.FLOAT64: "f64"}
        self.w.add_key_value(key, value, vtype)
        if isinstance(value, bytes):
            value = list(value)
        self.meta.append([key, names[vtype], value])

    def tensor(self, name, data, qtype):
        raw = data if data.dtype == np.uint8 and qtype not in (Q.F32, Q.F16) else quantized(data, qtype)
        self.w.add_tensor(name, raw, raw_dtype=qtype)

    def finish(self):
        self.w.write_header_to_file()
        self.w.write_kv_data_to_file()
        self.w.write_tensors_to_file()
        self.w.close()
        return self.describe()

    def describe(self):
        r = gguf.GGUFReader(self.path)
        tensors = []
        for t in r.tensors:
            raw = np.asarray(t.data).tobytes()
            if t.tensor_type in (Q.F32, Q.F16):
                values = np.asarray(t.data, dtype=np.float32).reshape(-1)
            else:
                values = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(-1)
            tensors.append({
                "name": t.name,
                "ggml_type": int(t.tensor_type),
                "ne": [int(x) for x in t.shape],
                "data_offset": int(t.data_offset),
                "nbytes": int(t.n_bytes),
                "crc32": zlib.crc32(raw),
                "first_values": [float(x) for x in values[:16]],
            })
        return {"file": os.path.basename(self.path), "metadata": self.meta, "tensors": tensors,
                "size": os.path.getsize(self.path)}


def tokenizer(f, n_vocab):
    toks = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + \
           [chr(ord("a") + i) for i in range(26)] + ["Ġ", "é", "ĠĠ", "he", "ll", "o", "Ġw"]
    toks += [f"[PAD{i}]" for i in range(len(toks), n_vocab)]
    ttype = [3, 3, 3] + [1] * (len(toks) - 3 - (n_vocab - 36)) + [5] * (n_vocab - 36)
    f.kv("tokenizer.ggml.model", V.STRING, "gpt2")
    f.kv("tokenizer.ggml.pre", V.STRING, "qwen2")
    f.kv("tokenizer.ggml.tokens", V.ARRAY, toks)
    f.kv("tokenizer.ggml.token_type", V.ARRAY, ttype)
    f.kv("tokenizer.ggml.merges", V.ARRAY, ["h e", "l l", "Ġ w", "Ġ Ġ"])
    f.kv("tokenizer.ggml.eos_token_id", V.UINT32, 0)
    f.kv("tokenizer.ggml.bos_token_id", V.UINT32, 0)
    f.kv("tokenizer.ggml.add_bos_token", V.BOOL, False)
    f.kv("tokenizer.chat_template", V.STRING, "{% for m in messages %}<|im_start|>{{ m.content }}<|im_end|>{% endfor %}")


def qwen2():
    n_vocab, hidden, heads, kv_heads, ffn = 40, 32, 4, 2, 64
    head_dim = hidden // heads
    f = Fixture("gguf_qwen2.gguf", "qwen2")
    f.kv("general.name", V.STRING, "tiny qwen2 fixture")
    f.kv("qwen2.block_count", V.UINT32, 1)
    f.kv("qwen2.context_length", V.UINT32, 4096)
    f.kv("qwen2.embedding_length", V.UINT32, hidden)
    f.kv("qwen2.feed_forward_length", V.UINT32, ffn)
    f.kv("qwen2.attention.head_count", V.UINT32, heads)
    f.kv("qwen2.attention.head_count_kv", V.UINT32, kv_heads)
    f.kv("qwen2.rope.freq_base", V.FLOAT32, 1000000.0)
    f.kv("qwen2.attention.layer_norm_rms_epsilon", V.FLOAT32, 1e-6)
    f.kv("qwen2.rope.scaling.type", V.STRING, "yarn")
    f.kv("qwen2.rope.scaling.factor", V.FLOAT32, 4.0)
    f.kv("qwen2.rope.scaling.original_context_length", V.UINT32, 1024)
    f.kv("general.file_type", V.UINT32, 7)
    tokenizer(f, n_vocab)
    f.tensor("token_embd.weight", randn(n_vocab, hidden), Q.Q8_0)
    f.tensor("blk.0.attn_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    f.tensor("blk.0.attn_q.weight", randn(heads * head_dim, hidden), Q.F16)
    f.tensor("blk.0.attn_q.bias", randn(heads * head_dim), Q.F32)
    f.tensor("blk.0.attn_k.weight", randn(kv_heads * head_dim, hidden), Q.Q4_0)
    f.tensor("blk.0.attn_k.bias", randn(kv_heads * head_dim), Q.F32)
    f.tensor("blk.0.attn_v.weight", randn(kv_heads * head_dim, hidden), Q.BF16)
    f.tensor("blk.0.attn_v.bias", randn(kv_heads * head_dim), Q.F32)
    f.tensor("blk.0.attn_output.weight", randn(hidden, heads * head_dim), Q.Q8_0)
    f.tensor("blk.0.ffn_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    f.tensor("blk.0.ffn_gate.weight", randn(ffn, hidden), Q.Q4_0)
    f.tensor("blk.0.ffn_up.weight", randn(ffn, hidden), Q.Q8_0)
    f.tensor("blk.0.ffn_down.weight", randn(hidden, ffn), Q.Q4_0)
    f.tensor("output_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    return f.finish()


def deepseek_common(f, arch, n_layers, lead_dense, gating):
    f.kv(f"{arch}.block_count", V.UINT32, n_layers)
    f.kv(f"{arch}.context_length", V.UINT32, 163840)
    f.kv(f"{arch}.embedding_length", V.UINT32, 32)
    f.kv(f"{arch}.feed_forward_length", V.UINT32, 64)
    f.kv(f"{arch}.attention.head_count", V.UINT32, 2)
    f.kv(f"{arch}.rope.freq_base", V.FLOAT32, 10000.0)
    f.kv(f"{arch}.attention.layer_norm_rms_epsilon", V.FLOAT32, 1e-6)
    f.kv(f"{arch}.expert_used_count", V.UINT32, 2)
    f.kv(f"{arch}.leading_dense_block_count", V.UINT32, lead_dense)
    f.kv(f"{arch}.vocab_size", V.UINT32, 40)
    f.kv(f"{arch}.expert_feed_forward_length", V.UINT32, 32)
    f.kv(f"{arch}.expert_count", V.UINT32, 4)
    f.kv(f"{arch}.expert_shared_count", V.UINT32, 1)
    f.kv(f"{arch}.expert_weights_scale", V.FLOAT32, 2.5)
    f.kv(f"{arch}.expert_weights_norm", V.BOOL, True)
    f.kv(f"{arch}.expert_gating_func", V.UINT32, gating)
    f.kv(f"{arch}.rope.dimension_count", V.UINT32, 8)


def moe_layer(f, bid, hidden, n_expert, ff_exp, probs_b):
    f.tensor(f"blk.{bid}.ffn_gate_inp.weight", randn(n_expert, hidden), Q.F32)
    if probs_b:
        f.tensor(f"blk.{bid}.exp_probs_b.bias", randn(n_expert, scale=0.1), Q.F32)
    f.tensor(f"blk.{bid}.ffn_gate_exps.weight", randn(n_expert, ff_exp, hidden), Q.Q4_0)
    f.tensor(f"blk.{bid}.ffn_up_exps.weight", randn(n_expert, ff_exp, hidden), Q.Q8_0)
    f.tensor(f"blk.{bid}.ffn_down_exps.weight", randn(n_expert, hidden, ff_exp), Q.Q4_0)
    f.tensor(f"blk.{bid}.ffn_gate_shexp.weight", randn(ff_exp, hidden), Q.Q8_0)
    f.tensor(f"blk.{bid}.ffn_up_shexp.weight", randn(ff_exp, hidden), Q.Q8_0)
    f.tensor(f"blk.{bid}.ffn_down_shexp.weight", randn(hidden, ff_exp), Q.F16)


def deepseek2_fused():
    hidden, heads, q_lora, kv_lora, nope, rope, v_dim = 32, 2, 32, 32, 16, 8, 16
    f = Fixture("gguf_deepseek2.gguf", "deepseek2")
    f.kv("general.name", V.STRING, "tiny deepseek v3 fixture")
    deepseek_common(f, "deepseek2", 2, 1, 2)
    f.kv("deepseek2.attention.head_count_kv", V.UINT32, heads)
    f.kv("deepseek2.attention.q_lora_rank", V.UINT32, q_lora)
    f.kv("deepseek2.attention.kv_lora_rank", V.UINT32, kv_lora)
    f.kv("deepseek2.attention.key_length", V.UINT32, nope + rope)
    f.kv("deepseek2.attention.value_length", V.UINT32, v_dim)
    f.kv("deepseek2.rope.scaling.type", V.STRING, "yarn")
    f.kv("deepseek2.rope.scaling.factor", V.FLOAT32, 40.0)
    f.kv("deepseek2.rope.scaling.original_context_length", V.UINT32, 4096)
    f.kv("deepseek2.rope.scaling.yarn_log_multiplier", V.FLOAT32, 0.1 * 0.707)
    tokenizer(f, 40)
    f.tensor("token_embd.weight", randn(40, hidden), Q.F16)
    for bid in range(2):
        f.tensor(f"blk.{bid}.attn_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
        f.tensor(f"blk.{bid}.attn_q_a.weight", randn(q_lora, hidden), Q.Q8_0)
        f.tensor(f"blk.{bid}.attn_q_a_norm.weight", 1 + randn(q_lora, scale=0.1), Q.F32)
        f.tensor(f"blk.{bid}.attn_q_b.weight", randn(heads * (nope + rope), q_lora), Q.Q8_0)
        f.tensor(f"blk.{bid}.attn_kv_a_mqa.weight", randn(kv_lora + rope, hidden), Q.F16)
        f.tensor(f"blk.{bid}.attn_kv_a_norm.weight", 1 + randn(kv_lora, scale=0.1), Q.F32)
        f.tensor(f"blk.{bid}.attn_kv_b.weight", randn(heads * (nope + v_dim), kv_lora), Q.Q8_0)
        f.tensor(f"blk.{bid}.attn_output.weight", randn(hidden, heads * v_dim), Q.Q8_0)
        f.tensor(f"blk.{bid}.ffn_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
        if bid == 0:
            f.tensor("blk.0.ffn_gate.weight", randn(64, hidden), Q.Q8_0)
            f.tensor("blk.0.ffn_up.weight", randn(64, hidden), Q.Q8_0)
            f.tensor("blk.0.ffn_down.weight", randn(hidden, 64), Q.Q4_0)
        else:
            moe_layer(f, bid, hidden, 4, 32, True)
    f.tensor("output_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    f.tensor("output.weight", randn(40, hidden), Q.Q8_0)
    return f.finish()


def deepseek2_split():
    hidden, heads, kv_lora, nope, rope, v_dim = 32, 2, 32, 16, 8, 16
    f = Fixture("gguf_deepseek2_split.gguf", "deepseek2")
    deepseek_common(f, "deepseek2", 1, 0, 1)
    f.kv("deepseek2.attention.head_count_kv", V.UINT32, 1)
    f.kv("deepseek2.attention.kv_lora_rank", V.UINT32, kv_lora)
    f.kv("deepseek2.attention.key_length", V.UINT32, kv_lora + rope)
    f.kv("deepseek2.attention.value_length", V.UINT32, kv_lora)
    f.kv("deepseek2.attention.key_length_mla", V.UINT32, nope + rope)
    f.kv("deepseek2.attention.value_length_mla", V.UINT32, v_dim)
    f.kv("deepseek2.expert_group_count", V.UINT32, 2)
    f.kv("deepseek2.expert_group_used_count", V.UINT32, 1)
    f.tensor("token_embd.weight", randn(40, hidden), Q.Q8_0)
    f.tensor("blk.0.attn_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    f.tensor("blk.0.attn_q.weight", randn(heads * (nope + rope), hidden), Q.Q8_0)
    f.tensor("blk.0.attn_kv_a_mqa.weight", randn(kv_lora + rope, hidden), Q.Q8_0)
    f.tensor("blk.0.attn_kv_a_norm.weight", 1 + randn(kv_lora, scale=0.1), Q.F32)
    # convert_hf_to_gguf.py: kv_b viewed [heads, nope + v, kv_lora], split, k part transposed
    kv_b = randn(heads * (nope + v_dim), kv_lora).reshape(heads, nope + v_dim, kv_lora)
    k_b = np.ascontiguousarray(kv_b[:, :nope, :].transpose(0, 2, 1))  # [heads, kv_lora, nope]
    v_b = np.ascontiguousarray(kv_b[:, nope:, :])                     # [heads, v_dim, kv_lora]
    f.tensor("blk.0.attn_k_b.weight", k_b, Q.F16)
    f.tensor("blk.0.attn_v_b.weight", v_b, Q.Q8_0)
    f.tensor("blk.0.attn_output.weight", randn(hidden, heads * v_dim), Q.Q8_0)
    f.tensor("blk.0.ffn_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    moe_layer(f, 0, hidden, 4, 32, False)
    f.tensor("output_norm.weight", 1 + randn(hidden, scale=0.1), Q.F32)
    f.tensor("output.weight", randn(40, hidden), Q.Q8_0)
    desc = f.finish()
    # The fused kv_b these two stand for, rebuilt with numpy from what gguf-py reads back
    # (reference for writing split files in the fused layout).
    r = gguf.GGUFReader(f.path)
    t = {x.name: x for x in r.tensors}
    kb = np.asarray(t["blk.0.attn_k_b.weight"].data, dtype=np.float32).reshape(heads, kv_lora, nope)
    vb = gguf.quants.dequantize(np.asarray(t["blk.0.attn_v_b.weight"].data), Q.Q8_0).reshape(heads, v_dim, kv_lora)
    fused = np.concatenate([kb.transpose(0, 2, 1), vb], axis=1).reshape(heads * (nope + v_dim), kv_lora)
    fused = np.ascontiguousarray(fused, dtype=np.float32)
    desc["derived"] = {"blk.0.attn_kv_b.weight": {"shape": list(fused.shape), "crc32_f32": zlib.crc32(fused.tobytes()),
                                                  "first_values": [float(x) for x in fused.reshape(-1)[:16]]}}
    return desc


def all_types():
    f = Fixture("gguf_types.gguf", "sputnik-types", alignment=64)
    f.kv("t.u8", V.UINT8, 200)
    f.kv("t.i8", V.INT8, -100)
    f.kv("t.u16", V.UINT16, 60000)
    f.kv("t.i16", V.INT16, -30000)
    f.kv("t.u32", V.UINT32, 4000000000)
    f.kv("t.i32", V.INT32, -2000000000)
    f.kv("t.f32", V.FLOAT32, 0.1)
    f.kv("t.bool", V.BOOL, True)
    f.kv("t.string", V.STRING, "héllo, GGUF ✓")
    f.kv("t.u64", V.UINT64, 18000000000000000000)
    f.kv("t.i64", V.INT64, -9000000000000000000)
    f.kv("t.f64", V.FLOAT64, 2.718281828459045)
    f.kv("t.empty_string", V.STRING, "")
    f.kv("t.array_u8", V.ARRAY, bytes([1, 2, 255]))
    f.kv("t.array_i32", V.ARRAY, [1, -2, 3])
    f.kv("t.array_f32", V.ARRAY, [0.5, -1.25])
    f.kv("t.array_bool", V.ARRAY, [True, False])
    f.kv("t.array_string", V.ARRAY, ["a", "", "ü"])
    f.kv("t.array_nested", V.ARRAY, [[1, 2], [3], [4, 5, 6]])
    f.kv("t.array_nested_strings", V.ARRAY, [["x", "y"], ["z"]])
    x = randn(3, 64)
    f.tensor("f32", x, Q.F32)
    f.tensor("f16", x, Q.F16)
    f.tensor("bf16", x, Q.BF16)
    for q in (Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1):
        f.tensor(q.name.lower(), x, q)
    f.tensor("q4_k", random_kquant((2, 256), Q.Q4_K), Q.Q4_K)
    f.tensor("q6_k", random_kquant((2, 256), Q.Q6_K), Q.Q6_K)
    f.tensor("scalar_like", randn(1), Q.F32)
    f.tensor("four_d", randn(2, 1, 3, 32), Q.F32)
    return f.finish()


fixtures = [qwen2(), deepseek2_fused(), deepseek2_split(), all_types()]
with open(os.path.join(HERE, "gguf_fixtures.json"), "w") as out:
    json.dump(fixtures, out, indent=1, ensure_ascii=False)
    out.write("\n")
for fx in fixtures:
    print(fx["file"], fx["size"], "bytes,", len(fx["tensors"]), "tensors")
