#!/usr/bin/python3
"""Generates the quantization fixtures in this folder from llama.cpp itself (never from sputnik).

    /usr/bin/python3 gen_quant_fixtures.py /path/to/llama.cpp

Ground truth:
  * gguf-py (llama.cpp/gguf-py/gguf/quants.py, numpy): quantize Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
    BF16 and dequantize every type;
  * ggml's C reference quantizers (ggml/src/ggml-quants.c: quantize_row_q4_K_ref,
    quantize_row_q6_K_ref, quantize_row_q8_K_ref, which gguf-py does not implement), compiled
    here with plain -O2 (no -march, no FMA contraction) and called through ctypes.
For each type T it writes T.in.f32 (input), T.bytes (expected blocks) and T.deq.f32 (expected
dequantized values). Inputs cover normal values, outliers, all-zero, constant, one-signed and
tiny blocks.
"""
import ctypes
import importlib
import os
import subprocess
import sys
import tempfile
import types

import numpy as np

LLAMA = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "/work/llama.cpp")
# Load gguf.quants without gguf/__init__.py (which pulls in sentencepiece for the vocab code).
_pkg = types.ModuleType("gguf")
_pkg.__path__ = [os.path.join(LLAMA, "gguf-py", "gguf")]
sys.modules["gguf"] = _pkg
quants = importlib.import_module("gguf.quants")
Q = importlib.import_module("gguf.constants").GGMLQuantizationType

OUT = os.path.dirname(os.path.abspath(__file__))
N = 2048  # 8 super-blocks of 256 (64 blocks of 32)

STUBS = r"""
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
float ggml_table_f32_f16[1 << 16];
static float half_to_float(uint16_t h) {
  uint32_t s = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 0) return (s ? -1.f : 1.f) * ldexpf((float)m, -24);
  if (e == 31) { uint32_t b = s | 0x7f800000u | (m << 13); float f; memcpy(&f, &b, 4); return f; }
  uint32_t b = s | ((e + 112) << 23) | (m << 13); float f; memcpy(&f, &b, 4); return f;
}
__attribute__((constructor)) static void init_table(void) {
  for (int i = 0; i < 65536; ++i) ggml_table_f32_f16[i] = half_to_float((uint16_t)i);
}
void ggml_abort(const char* file, int line, const char* fmt, ...) { fprintf(stderr, "abort %s:%d\n", file, line); abort(); }
size_t ggml_row_size(int type, int64_t ne) { abort(); }
const char* ggml_type_name(int type) { return "?"; }
size_t ggml_type_size(int type) { abort(); }
"""


def build_ggml_reference():
    tmp = tempfile.mkdtemp()
    stub = os.path.join(tmp, "stubs.c")
    with open(stub, "w") as f:
        f.write(STUBS)
    so = os.path.join(tmp, "ggml_quants_ref.so")
    src = os.path.join(LLAMA, "ggml/src/ggml-quants.c")
    subprocess.check_call(["gcc", "-O2", "-std=gnu11", "-ffp-contract=off", "-shared", "-fPIC",
                           "-I" + os.path.join(LLAMA, "ggml/include"), "-I" + os.path.join(LLAMA, "ggml/src"),
                           src, stub, "-o", so, "-lm"])
    return ctypes.CDLL(so)


def inputs(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(N).astype(np.float32)
    x[100] = 40.0          # outlier in a block
    x[300:332] = 0.0       # all-zero block
    x[512:544] = 0.75      # constant block
    x[600:632] = -np.abs(x[600:632])  # one-signed block
    x[700:732] = np.abs(x[700:732])
    x[1024:1280] *= 1e-4   # tiny super-block
    x[1536:1552] = 0.0     # zero sub-block (16) inside a super-block
    x[1800:1832] = np.linspace(-3, 3, 32)  # exact ties for rounding
    return x.astype(np.float32)


def c_quantize(lib, fn, x, block_bytes, block_elems):
    out = np.zeros(len(x) // block_elems * block_bytes, dtype=np.uint8)
    getattr(lib, fn)(x.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p), ctypes.c_int64(len(x)))
    return out


def q8k_dequant(b):
    blocks = b.reshape(-1, 292)
    d = blocks[:, :4].copy().view(np.float32)
    q = blocks[:, 4:260].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(-1).astype(np.float32)


def write(name, x, qbytes, deq):
    x.astype("<f4").tofile(os.path.join(OUT, name + ".in.f32"))
    np.asarray(qbytes, dtype=np.uint8).tofile(os.path.join(OUT, name + ".bytes"))
    deq.astype("<f4").tofile(os.path.join(OUT, name + ".deq.f32"))
    print(f"{name}: {len(qbytes)} bytes")


def main():
    lib = build_ggml_reference()
    for i, (name, qt) in enumerate([("Q8_0", Q.Q8_0), ("Q4_0", Q.Q4_0), ("Q4_1", Q.Q4_1), ("Q5_0", Q.Q5_0),
                                    ("Q5_1", Q.Q5_1), ("BF16", Q.BF16)]):
        x = inputs(i)
        b = quants.quantize(x.reshape(1, -1), qt).reshape(-1)
        deq = quants.dequantize(b.reshape(1, -1), qt).reshape(-1)
        if name in ("Q8_0", "Q4_0"):  # gguf-py and ggml's C must agree on these
            cref = c_quantize(lib, "quantize_row_%s_ref" % name.lower(), x, len(b) * 32 // N, 32)
            assert np.array_equal(cref, b), name + ": gguf-py and ggml C reference differ"
        write(name, x, b.view(np.uint8), deq)
    x = inputs(10)
    write("F16", x, x.astype(np.float16).view(np.uint8), x.astype(np.float16).astype(np.float32))
    for i, (name, qt, bb) in enumerate([("Q4_K", Q.Q4_K, 144), ("Q6_K", Q.Q6_K, 210), ("Q8_K", None, 292)]):
        x = inputs(20 + i)
        b = c_quantize(lib, "quantize_row_%s_K_ref" % name[:2].lower(), x, bb, 256)
        deq = q8k_dequant(b) if qt is None else quants.dequantize(b.reshape(1, -1), qt).reshape(-1)
        write(name, x, b, deq)


if __name__ == "__main__":
    main()
