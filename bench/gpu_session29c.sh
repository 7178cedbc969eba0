#!/usr/bin/env bash
# gpu_session29c.sh — one nvidia-h200 call on session 29's tree (the decode attention's chunks
# pipelined, 8 cluster splits where the rule gives 9-16): kernel tests, CUDA-vs-CPU greedy,
# lab_attention (7B, 13B; ctx 512-4096; pipe and fit8 on/off), then the step at in 2048 and 4000
# with each switch off and on (alternating, two rounds) and at in 128 (unchanged kernel),
# compute-sanitizer memcheck over the quick kernel tests last.
# Ran on 2b60caf (the kernel variants it times were removed after; the code is in that commit).
# carry: build-dev/lib build-dev/pack      LINFER_GIT_COMMIT=<commit> bash bench/gpu_session29c.sh
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
dev_calibrate
for m in llama-2-7b llama-2-13b; do
  $R /tmp/bins/lab_attention --model $m --ctx 512,2048,4096 --batch 1 --variants default,nopipe,nofit8,nopipe+nofit8 \
     > "$OUT/lab_attention_$m.log" 2>&1; echo "lab_attention $m rc=$?"; grep -E "^ *[0-9]|variant|ctx" "$OUT/lab_attention_$m.log" | head -24
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for v in "1 1" "0 0" "1 0" "0 1"; do
    set -- $v
    LF_CUDA_ATTN_PIPE=$1 LF_CUDA_ATTN_FIT8=$2 dev_bench 7b_in2048_p$1f$2_r$r llama-2-7b --batch 1 --in 2048 --out 64
  done
  for v in 1 0; do
    LF_CUDA_ATTN_PIPE=$v LF_CUDA_ATTN_FIT8=$v dev_bench 7b_in4000_p${v}f${v}_r$r llama-2-7b --batch 1 --in 4000 --out 64
    LF_CUDA_ATTN_PIPE=$v LF_CUDA_ATTN_FIT8=$v dev_bench 13b_in2048_p${v}f${v}_r$r llama-2-13b --batch 1 --in 2048 --out 64
    LF_CUDA_ATTN_PIPE=$v LF_CUDA_ATTN_FIT8=$v dev_bench 7b_in128_p${v}f${v}_r$r llama-2-7b --batch 1 --in 128 --out 64
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
dev_memcheck_rest $t0
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
