#!/usr/bin/env bash
# gpu_gemv_crossover.sh — measure where the CUDA backend's own GEMV (rows <= LF_CUDA_GEMV) stops
# beating cuBLAS: decode TPOT of llama-2-7b at batch 1..16 for each crossover setting.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
for g in 8 4 2 1 0; do
  echo "== LF_CUDA_GEMV=$g"
  LF_CUDA_GEMV=$g run build-dev/linfer bench -m llama-2-7b --batch 1,2,3,4,6,8,12,16 --in 128 --out 32 --warmup 1 --reps 3 --hw none 2>&1 \
    | grep -E "^dtype|^fp16"
done 2>&1 | tee "$OUT/gemv_crossover.log"
