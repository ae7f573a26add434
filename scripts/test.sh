#!/usr/bin/env bash
# Sets up the machine, builds, and runs the whole test suite: the release build, then the same
# tests under AddressSanitizer + UndefinedBehaviorSanitizer, then a short run of each fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
# Threads that spin while waiting cost a lot on a busy 2-core machine; tests want steady timing.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

scripts/build.sh release
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

# Sanitizers: the tests that are not labelled `slow` (reference-model drivers run once above).
scripts/build.sh asan
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$jobs" --timeout 900 -LE slow)

if ls fuzz/*_fuzz.cpp >/dev/null 2>&1; then
  scripts/build.sh fuzz
  for f in build-fuzz/*_fuzz; do
    corpus=fuzz/corpus/$(basename "$f" _fuzz)
    mkdir -p "$corpus"
    seeds=fuzz/seeds/$(basename "$f" _fuzz)  # committed seed inputs, read-only second corpus
    [ -d "$seeds" ] || seeds=
    echo "fuzzing $(basename "$f") for 30 s"
    "$f" -max_total_time=30 -rss_limit_mb=2048 "$corpus" $seeds >/dev/null 2>"build-fuzz/$(basename "$f").log" \
      || { tail -50 "build-fuzz/$(basename "$f").log"; exit 1; }
  done
fi
