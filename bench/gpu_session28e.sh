#!/usr/bin/env bash
# gpu_session28e.sh — one nvidia-h200 call: the one-row FFMA GEMV with x converted to fp32 once
# per block in shared memory (ffma8x, ffma8x+swiglu): kernel tests, lab_gemv at one row for
# llama-2-7b, llama-3-8b and llama-2-13b, calibrate, bs-1 decode tuned (ffma8x among the
# candidates), forced (ffma8x on every layer) and without it (ffma8 forms forced), alternating.
# Ran on a27c7c8; ffma8x was removed after it (docs/perf-notes.md, session 28): check that commit
# out to run it again.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
FX="qkv:ffma8x,o_proj:ffma8x,gate_up:ffma8x+swiglu,down:ffma8x,lm_head:ffma8x"
F8="qkv:ffma8,o_proj:ffma8,gate_up:ffma8+swiglu,down:ffma8,lm_head:ffma8"
{
t0=$(date +%s)
dev_kernel_tests
grep -E "gemv-xs|gemv_ffma_xs" "$OUT/kernels.log" | awk '{print $1, $NF}' | sort | uniq -c
dev_vs_cpu
LF_CUDA_IMPL=$FX dev_vs_cpu
for m in llama-2-7b llama-3-8b llama-2-13b; do
  $R /tmp/bins/lab_gemv --model $m --m 1 > "$OUT/lab_$m.log" 2>&1; echo "lab $m rc=$?"
  grep -E "^ *(qkv|o_proj|gate_up|down|lm_head)" "$OUT/lab_$m.log" | grep -E "ffma8 |ffma8x " | awk '{print $1, $2, $3, $4, $5, $6}'
done
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  LF_CUDA_TUNE_VERBOSE=1 dev_bench tuned_7b_$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$FX dev_bench fx_7b_$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$F8 dev_bench f8_7b_$r llama-2-7b --batch 1 --in 128 --out 64
done
grep -E "^  (qkv|o_proj|gate_up|down|lm_head) " "$OUT/bench_tuned_7b_1.log" | awk '{print $1, $2}'
for m in llama-3-8b llama-2-13b; do
  LF_CUDA_TUNE_VERBOSE=1 dev_bench tuned_$m $m --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$FX dev_bench fx_$m $m --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$F8 dev_bench f8_$m $m --batch 1 --in 128 --out 64
  grep -E "^  (qkv|o_proj|gate_up|down|lm_head) " "$OUT/bench_tuned_$m.log" | awk '{printf "%s %s  ", $1, $2} END {print ""}'
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
