#!/usr/bin/env bash
# gpu_session22k.sh — one nvidia-h200 call after the split of backend.cu (the linear-layer choice
# moved to linear_choice.cu, the shared state to backend_internal.h; no behaviour change): kernel
# tests, CUDA-vs-CPU greedy, and bench points that run every path of the choice — bs 1 and 4 (the
# timed buckets, with the whole-step check), bs 32 (cuBLASLt against GemmEx), in 2048 (cuBLAS
# prefill) — with LF_CUDA_TUNE_VERBOSE=1 so the tables are in the logs.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown} LF_CUDA_TUNE_VERBOSE=1
dev_bench 7b_bs1 llama-2-7b --batch 1 --in 128 --out 128
dev_bench 7b_bs4 llama-2-7b --batch 4 --in 128 --out 128
dev_bench 7b_bs32 llama-2-7b --batch 32 --in 128 --out 128
dev_bench 7b_in2048 llama-2-7b --batch 1 --in 2048 --out 16
grep -hE "decode step at|cuBLASLt|lt#|-> " "$OUT"/bench_7b_bs*.log | head -12
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
