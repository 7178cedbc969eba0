#!/usr/bin/env bash
# gpu_oneshot.sh — the one-shot peer-memory all-reduce (issue 5) on a 2-GPU machine: test_tp
# (threads in one process: peer access) against TP 1, then `linfer generate --tp 2` (one process
# per GPU: CUDA IPC) with the one-shot path on and off (LF_CUDA_ONESHOT=0: NCCL only).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/oneshot.log"
{
timeout 200 bash scripts/device_run.sh cmd build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 2>&1 | grep -v "^   \|^== 20"
for os in 1 0; do
  echo "== generate --tp 2, LF_CUDA_ONESHOT=$os"
  LF_CUDA_ONESHOT=$os timeout 120 bash scripts/device_run.sh cmd build-dev/linfer generate -m llama-2-13b --device cuda --in 128 -n 128 \
     --warmup 1 --reps 5 --tp 2 2>&1 | grep -E "median|TPOT|linfer"
done
} > "$L" 2>&1
cat "$L"
