#!/usr/bin/env bash
# gpu_session17n.sh — one nvidia-h200 call after the review commit (the step's stream capture one
# helper for the graph cache and the step check; device scripts' common checks in device_prep.sh):
# kernel tests (--quick), CUDA-vs-CPU greedy (decode steps from graphs), calibrate, llama-2-7b bs 1
# in 128, and llama-2-13b at bs 8 with the timing's table (the step check compares whole
# captured steps where the timing picks cuBLAS).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests --quick
dev_vs_cpu
dev_calibrate
$R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b: /"
LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m llama-2-13b --batch 8 --in 128 --out 32 --json "$OUT/bench_13b_b8.json" > "$OUT/bench_13b_b8.log" 2>&1
grep -E "^fp16|decode step at" "$OUT/bench_13b_b8.log" | sed "s/^/13b bs8: /"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
