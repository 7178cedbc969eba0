#!/usr/bin/env bash
# gpu_session21n.sh — one nvidia-h200 call after the review refactor (tune_time derives its inputs;
# the RoPE kernel keeps only its batched loop): kernel tests, CUDA-vs-CPU greedy, the cuBLASLt choice
# at 32 rows (tune_lt through the refactored tune_time), and llama-2-7b TTFT at in 2048, bs 32, bs 1.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
dev_kernel_tests
dev_vs_cpu
LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-7b --batch 32 --in 128 -n 8 > "$OUT/tune_b32.log" 2>&1; echo "tune b32 rc=$?"
grep -A6 "at 32 rows (us per call): cublasGemmEx" "$OUT/tune_b32.log" | cut -c1-120
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
dev_bench 7b_in2048 llama-2-7b --batch 1 --in 2048 --out 16
dev_bench 7b_b32 llama-2-7b --batch 32 --in 128 --out 128
dev_bench 7b_b1 llama-2-7b --batch 1 --in 128 --out 128
} > "$OUT/f.log" 2>&1
dev_finish
