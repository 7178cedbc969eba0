#!/usr/bin/env bash
# gpu_session5.sh — kernel tests (incl. the greedy argmax kernel), compute-sanitizer, GPU batch
# consistency and device-vs-host greedy, and the 7B decode with device-side greedy sampling.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"; grep -E "argmax|checks,|FAIL" "$OUT/kernels.log" | head
bash scripts/device_run.sh sanitize > "$OUT/sanitize.log" 2>&1; echo "sanitize rc=$?"; grep -iE "ERROR SUMMARY|hazard|RACECHECK SUMMARY" "$OUT/sanitize.log" | head
for d in fp16 bf16; do run build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 $d 5 300 2>&1 | grep -v "^   \|^== 20"; done | tee "$OUT/batch.log"
G="build-dev/linfer generate --device cuda"
{ echo "7b fp16 in128 out128 (device greedy):"; run $G -m llama-2-7b --in 128 -n 128 --warmup 1 --reps 5 | tail -2
  echo "7b fp16 in2048 out2:"; run $G -m llama-2-7b --in 2048 -n 2 --warmup 2 --reps 5 | tail -2; } 2>&1 | grep -v "^   \|^== 20" | tee "$OUT/bench5.log"
