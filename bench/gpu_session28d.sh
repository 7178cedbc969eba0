#!/usr/bin/env bash
# gpu_session28d.sh — one nvidia-h200 call: the FFMA GEMV with 16 loads in flight per lane
# (ffma16, one row): kernel tests, lab_gemv at one row for llama-2-7b, llama-3-8b and
# llama-2-13b (every variant against the CPU first, then timed), calibrate, and bs-1 decode with
# ffma16 among the tuning candidates (the default), forced on qkv/o_proj/down/lm_head, and left
# out (LF_CUDA_IMPL with ffma8 there), alternating.
# Ran on 0c31449; ffma16 was removed after it (docs/perf-notes.md, session 28): check that commit
# out to run it again.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
F16="qkv:ffma16,o_proj:ffma16,down:ffma16,lm_head:ffma16"
F8="qkv:ffma8,o_proj:ffma8,down:ffma8,lm_head:ffma8"
{
t0=$(date +%s)
dev_kernel_tests
grep -E "ffma16" "$OUT/kernels.log" | awk '{print $1, $NF}' | sort | uniq -c
dev_vs_cpu
for m in llama-2-7b llama-3-8b llama-2-13b; do
  $R /tmp/bins/lab_gemv --model $m --m 1 > "$OUT/lab_$m.log" 2>&1; echo "lab $m rc=$?"
  grep -E "^ *(qkv|o_proj|gate_up|down|lm_head)" "$OUT/lab_$m.log" | grep -E "ffma8 |ffma16 " | awk '{print $1, $2, $3, $4, $5, $6}'
done
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  LF_CUDA_TUNE_VERBOSE=1 dev_bench tuned_7b_$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$F16 dev_bench f16_7b_$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$F8 dev_bench f8_7b_$r llama-2-7b --batch 1 --in 128 --out 64
done
grep -E "^  (qkv|o_proj|gate_up|down|lm_head) " "$OUT/bench_tuned_7b_1.log" | awk '{print $1, $2}'
for m in llama-3-8b llama-2-13b; do
  dev_bench tuned_$m $m --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$F8 dev_bench f8_$m $m --batch 1 --in 128 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
