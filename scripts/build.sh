#!/usr/bin/env bash
# Configures and builds one flavour of sputnik.   usage: scripts/build.sh [release|asan|fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
jobs=$(nproc)
case "$flavour" in
  release) cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null ;;
  asan) cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPUTNIK_SANITIZE=ON \
          -DSPUTNIK_BENCH=OFF -DCMAKE_CXX_FLAGS=-O1 >/dev/null ;;
  fuzz) CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
          -DSPUTNIK_FUZZ=ON -DSPUTNIK_BENCH=OFF >/dev/null ;;
  *) echo "unknown flavour $flavour" >&2; exit 2 ;;
esac
dir=build; [ "$flavour" = release ] || dir=build-$flavour
cmake --build "$dir" -j "$jobs"
