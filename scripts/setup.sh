#!/usr/bin/env bash
# setup.sh — install what building and testing linfer needs on a Debian machine (idempotent).
# Debian packages only; Python packages are not needed to build or test (the goldens are
# committed), only to regenerate goldens (tools/).
set -euo pipefail
pkgs=(build-essential libopenblas-dev libcmocka-dev libcjson-dev libpcre2-dev libutf8proc-dev
      clang libclang-rt-14-dev python3 python3-pip gnuplot-nox chromium)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: note: nvcc is in /usr/local/cuda/bin but not on PATH; the Makefile looks there too"
fi
