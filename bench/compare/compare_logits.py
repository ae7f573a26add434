"""Compares llama_ref's output with sputnik's for one prompt (used by agreement.sh).

    compare_logits.py LLAMA_REF_OUT SPUTNIK_LOGITS_OUT SPUTNIK_RUN_IDS

LLAMA_REF_OUT: llama_ref's two JSON lines ({"logits": [[...]...]} and {"greedy": [...]}).
SPUTNIK_LOGITS_OUT: `sputnik logits` output, one JSON array per position.
SPUTNIK_RUN_IDS: `sputnik run --tokens ... --temp 0 -n N` stdout; its last line holds the ids.
Prints one line: max |Δlogit|, the same relative to the largest |logit|, how many positions pick
the same argmax, and how many greedy tokens match before the first divergence.
"""
import json
import re
import sys

import numpy as np


def main():
    ref = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    ref_logits = np.array(ref[0]["logits"], dtype=np.float64)
    ref_greedy = ref[1]["greedy"]
    ours = np.array([json.loads(line) for line in open(sys.argv[2]) if line.strip().startswith("[")],
                    dtype=np.float64)
    run_lines = [line for line in open(sys.argv[3]).read().splitlines() if line.strip()]
    our_greedy = [int(x) for x in re.findall(r"-?\d+", run_lines[-1])] if run_lines else []
    if ours.shape != ref_logits.shape:
        sys.exit(f"shape mismatch: llama.cpp {ref_logits.shape} vs sputnik {ours.shape}")
    diff = np.abs(ours - ref_logits)
    rel = diff.max() / np.abs(ref_logits).max()
    same_argmax = int((ours.argmax(1) == ref_logits.argmax(1)).sum())
    prefix = 0
    for a, b in zip(ref_greedy, our_greedy):
        if a != b:
            break
        prefix += 1
    # Near-ties make a flipped argmax legitimate: report the llama.cpp margin where they differ.
    flips = [i for i in range(len(ours)) if ours[i].argmax() != ref_logits[i].argmax()]
    margins = []
    for i in flips:
        top2 = np.sort(ref_logits[i])[-2:]
        margins.append(f"{top2[1] - top2[0]:.2e}")
    print(f"max_abs_logit_diff={diff.max():.3e} rel_to_max_logit={rel:.3e} "
          f"argmax_same={same_argmax}/{len(ours)} greedy_match={prefix}/{len(ref_greedy)}"
          + (f" (sputnik made {len(our_greedy)})" if len(our_greedy) != len(ref_greedy) else "")
          + (f" flip_margins={','.join(margins)}" if margins else ""))


if __name__ == "__main__":
    main()
