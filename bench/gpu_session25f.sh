#!/usr/bin/env bash
# gpu_session25f.sh — one nvidia-h200 call on session 25's last tree (e1d7a5f: the review's
# reorder): kernel tests, CUDA-vs-CPU greedy at llama-2-7b and llama-3-8b, and one lab pass of the
# GQA kernel against the one-head kernel at llama-3-8b bs 32 in 2048.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
dev_kernel_tests
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_8b.log" 2>&1; echo "vs_cpu 8b rc=$? $(tail -1 "$OUT/vs_cpu_8b.log")"
timeout 60 $R /tmp/bins/lab_attention --model llama-3-8b --ctx 2048 --batch 1,32 --variants default,nogqa > "$OUT/lab_8b.log" 2>&1; echo "lab rc=$?"
grep -E "^ +[0-9]|checks" "$OUT/lab_8b.log"
} > "$OUT/f.log" 2>&1
dev_finish
