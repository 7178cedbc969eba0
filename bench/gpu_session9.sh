#!/usr/bin/env bash
# gpu_session9.sh — issue 4, fourth round: one-pass vectorised RMSNorm and 1024-thread RoPE for
# decode; kernel tests; decode TPOT (bs 1, 4, 16; ctx 128 and 2048); per-kernel times of one
# eager decode step (Nsight Compute); compute-sanitizer memcheck + racecheck over the kernel tests.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/session9.log"
{
run build-dev/linfer calibrate > /dev/null 2>&1
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"
grep -E "FAIL|checks,|rmsnorm" "$OUT/kernels.log" | head -12
B="build-dev/linfer bench -m llama-2-7b --device cuda --out 128 --warmup 2 --reps 5 --no-progress"
run $B --in 128 --batch 1,4,16 --json "$OUT/bench_ctx128.json" 2>&1 | grep -E "^fp16|^dtype|^ceilings"
run $B --in 2048 --batch 1 --json "$OUT/bench_ctx2048.json" 2>&1 | grep -E "^fp16"
if command -v ncu >/dev/null; then
  LF_CUDA_GRAPH=0 timeout 200 ncu --clock-control none --metrics gpu__time_duration.sum --csv \
     bash scripts/device_run.sh cmd build-dev/linfer generate -m llama-2-7b --device cuda --in 128 -n 2 > /tmp/ncu.csv 2> /tmp/ncu.err
  echo "ncu rc=$?"; python3 bench/ncu_step_summary.py /tmp/ncu.csv 2>&1 | head -30
fi
timeout 240 bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc=|checks" | head
} > "$L" 2>&1
cat "$L"
