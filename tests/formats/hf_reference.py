#!/usr/bin/python3
"""Independent reference for the safetensors / HF-folder loader.

Writes a sharded Hugging Face folder with this script's own safetensors writer (struct + json,
tensors from PyTorch), including DeepSeek-style FP8 weights with block scales whose edge blocks
are partial, and next to it the values the loader must produce:
  expected/<name>.f32   float32 little-endian values (FP8: decoded by formula, times the block
                        scale, in numpy float32)
  expected/<name>.bf16  the same rounded to bfloat16 by PyTorch (for LoadOptions::fp8_dtype=BF16)
  manifest.json         {name: {"shape": [...], "dtype": stored dtype}}
usage: hf_reference.py OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np
import torch

BLOCK = [128, 128]


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype string, shape, raw bytes)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, _, _, raw in tensors:
            f.write(raw)


def decode_e4m3(b):
    """float8 e4m3fn -> float32 by formula (torch 1.13 has no float8 dtype)."""
    b = b.astype(np.int32)
    sign = np.where(b & 0x80, -1.0, 1.0)
    e = (b >> 3) & 0xF
    m = (b & 0x7).astype(np.float64)
    normal = (1.0 + m / 8.0) * np.exp2(e - 7.0)
    sub = (m / 8.0) * 2.0 ** -6
    return (sign * np.where(e == 0, sub, normal)).astype(np.float32)


def fp8_pair(rng, rows, cols):
    w = rng.integers(0, 256, size=(rows, cols), dtype=np.uint8)
    w[(w & 0x7F) == 0x7F] = 0x3C  # no NaN codes in real weights
    sr, sc = -(-rows // BLOCK[0]), -(-cols // BLOCK[1])
    scale = rng.uniform(1e-4, 2e-2, size=(sr, sc)).astype(np.float32)
    # Expand each scale over its (possibly partial) block, then crop to the weight's shape.
    full = np.repeat(np.repeat(scale, BLOCK[0], axis=0), BLOCK[1], axis=1)[:rows, :cols]
    value = decode_e4m3(w) * full  # float32 * float32, rounded once like the loader
    return w, scale, value.astype(np.float32)


def main():
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "expected"), exist_ok=True)
    rng = np.random.default_rng(1234)
    torch.manual_seed(1234)
    manifest, shards = {}, {1: [], 2: []}

    def expect(name, value, stored):
        value = np.ascontiguousarray(value, dtype=np.float32)
        value.astype("<f4").tofile(os.path.join(out, "expected", name + ".f32"))
        bf = torch.from_numpy(value).to(torch.bfloat16).view(torch.int16).numpy()
        bf.astype("<i2").tofile(os.path.join(out, "expected", name + ".bf16"))
        manifest[name] = {"shape": list(value.shape), "dtype": stored}

    f32 = torch.randn(7, 5)
    shards[1].append(("model.embed_tokens.weight", "F32", f32.shape, f32.numpy().astype("<f4").tobytes()))
    expect("model.embed_tokens.weight", f32.numpy(), "F32")

    f16 = torch.randn(3, 4).half()
    shards[1].append(("model.norm.weight", "F16", f16.shape, f16.view(torch.int16).numpy().astype("<i2").tobytes()))
    expect("model.norm.weight", f16.float().numpy(), "F16")

    bf16 = torch.randn(5, 3, 2).bfloat16()
    shards[2].append(("lm_head.weight", "BF16", bf16.shape, bf16.view(torch.int16).numpy().astype("<i2").tobytes()))
    expect("lm_head.weight", bf16.float().numpy(), "BF16")

    # FP8 weights: one with partial blocks on both edges, one whose scale lives in the other shard.
    for name, rows, cols, wshard, sshard in [
        ("model.layers.0.mlp.gate_proj.weight", 300, 200, 1, 1),
        ("model.layers.0.self_attn.q_proj.weight", 130, 257, 2, 1),
        ("model.layers.0.mlp.down_proj.weight", 128, 128, 2, 2),
    ]:
        w, scale, value = fp8_pair(rng, rows, cols)
        shards[wshard].append((name, "F8_E4M3", w.shape, w.tobytes()))
        shards[sshard].append((name + "_scale_inv", "F32", scale.shape, scale.astype("<f4").tobytes()))
        expect(name, value, "F8_E4M3")

    weight_map = {}
    for i, tensors in shards.items():
        fname = f"model-{i:05d}-of-00002.safetensors"
        write_safetensors(os.path.join(out, fname), tensors)
        weight_map.update({t[0]: fname for t in tensors})
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
    config = {"model_type": "deepseek_v3",
              "quantization_config": {"quant_method": "fp8", "fmt": "e4m3",
                                      "activation_scheme": "dynamic", "weight_block_size": BLOCK}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
