#!/usr/bin/env bash
# gpu_session22f.sh — one nvidia-h200 call on session 22's tree (the prefill attention v3 by default):
# kernel tests, CUDA-vs-CPU greedy, compute-sanitizer memcheck and racecheck over the quick kernel
# tests (the new kernel's ring of 3 cp.async buffers with one barrier per step), both ceilings of the
# call, then issue 4's points: TTFT at in 2048 (three rounds), bs 1 in 128, bs 32, llama-3-8b and
# llama-2-13b bs 1 (two rounds each), and llama-3-8b's TTFT in 2048 with v2 against v3 (GQA).
# carry: build-dev/lib build-dev/pack .peers
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
K=build-dev/tests/cuda/test_cuda_kernels
for tool in memcheck racecheck; do
  extra=""; [ $tool = memcheck ] && extra="--leak-check no"
  timeout 280 $R compute-sanitizer --tool $tool $extra --error-exitcode 99 $K --quick > "$OUT/sanitize_$tool.log" 2>&1
  echo "$tool rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitize_$tool.log" | tail -1) | $(grep -E 'checks, .* failed' "$OUT/sanitize_$tool.log" | tail -1)"
done
dev_calibrate
python3 .peers/ceilings.py > "$OUT/peers_ceilings.json" 2>&1; echo "peers ceilings: $(tail -1 "$OUT/peers_ceilings.json")"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2 3; do b 7b_in2048_r$r llama-2-7b --batch 1 --in 2048 --out 128; done
for r in 1 2; do
  b 7b_r$r llama-2-7b --batch 1 --in 128 --out 128
  b 7b_b32_r$r llama-2-7b --batch 32 --in 128 --out 128
  b 8b_r$r llama-3-8b --batch 1 --in 128 --out 128
  b 13b_r$r llama-2-13b --batch 1 --in 128 --out 128
done
for r in 1 2; do for i in 2 3; do LF_CUDA_ATTN_MMA=$i b 8b_in2048_mma${i}_r$r llama-3-8b --batch 1 --in 2048 --out 16; done; done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
