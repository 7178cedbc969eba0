#!/usr/bin/env bash
# gpu_session29d.sh — one nvidia-h200 call on session 29's tree: the decode attention's pipelined
# chunks within the register budget (LF_CUDA_ATTN_PIPE 1: full chunks at 3 blocks per SM; 2: half
# chunks, the default) against no pipeline (0): kernel tests, CUDA-vs-CPU greedy, lab_attention (7B,
# 13B; ctx 512-4096), the step at in 2048 (two rounds), 4000 and 128 and 13B in 2048, and
# compute-sanitizer memcheck over the quick kernel tests in the time left.
# Ran on bc0db61 (the kernel variants it times were removed after; the code is in that commit).
# carry: build-dev/lib build-dev/pack      LINFER_GIT_COMMIT=<commit> bash bench/gpu_session29d.sh
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
dev_calibrate
for m in llama-2-7b llama-2-13b; do
  $R /tmp/bins/lab_attention --model $m --ctx 512,2048,4096 --batch 1 --variants pipe0,pipe1,pipe2,pipe2+nofit8 \
     > "$OUT/lab_attention_$m.log" 2>&1; echo "lab_attention $m rc=$?"; grep -E "^ *[0-9]|variant" "$OUT/lab_attention_$m.log" | head -16
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for p in 2 0 1; do LF_CUDA_ATTN_PIPE=$p dev_bench 7b_in2048_p${p}_r$r llama-2-7b --batch 1 --in 2048 --out 64; done
  for p in 2 0; do
    LF_CUDA_ATTN_PIPE=$p dev_bench 7b_in4000_p${p}_r$r llama-2-7b --batch 1 --in 4000 --out 64
    LF_CUDA_ATTN_PIPE=$p dev_bench 13b_in2048_p${p}_r$r llama-2-13b --batch 1 --in 2048 --out 64
  done
done
for p in 2 0; do LF_CUDA_ATTN_PIPE=$p dev_bench 7b_in128_p${p} llama-2-7b --batch 1 --in 128 --out 64; done
echo "t=$(( $(date +%s) - t0 )) s"
dev_memcheck_rest $t0
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
