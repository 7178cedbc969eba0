#!/usr/bin/env bash
# gpu_session25c.sh — one nvidia-h200 call, session 25: the GQA decode kernel with the running
# max rounded up to a whole power of two (P's rounding independent of the split; exact rescales)
# and the launch choosing 8 warps per block and a one-wave split below one block per SM, 4 warps
# and no split from there. Kernel tests; CUDA-vs-CPU greedy at llama-3-8b on and off; the lab
# (llama-3-8b, llama-2-70b heads) against attn_decode_kernel; llama-3-8b whole steps on and off.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
for g in 1 0; do
  LF_CUDA_ATTN_GQA=$g $R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_8b_g$g.log" 2>&1
  echo "vs_cpu 8b gqa=$g rc=$? $(tail -1 "$OUT/vs_cpu_8b_g$g.log")"
done
LAB=/tmp/bins/lab_attention
timeout 150 $R $LAB --model llama-3-8b --ctx 128,512,2048,4096 --batch 1,4,8,16,32 --variants nogqa,default,gw4,gw8 --reps 7 > "$OUT/lab_8b.log" 2>&1; echo "lab 8b rc=$?"
timeout 80 $R $LAB --model llama-2-70b --ctx 128,2048 --batch 1,8,32 --variants nogqa,default --reps 7 > "$OUT/lab_70b.log" 2>&1; echo "lab 70b rc=$?"
for f in lab_8b lab_70b; do
  grep -E "^ +[0-9]" "$OUT/$f.log" | awk -v f=$f '{k=$1" "$2; o[k]=++n; a[k]=a[k] sprintf(" %s=%s", $3, $4)} END {for (k in a) print o[k], f, k, a[k]}' | sort -n | cut -d" " -f2-
  grep "checks" "$OUT/$f.log"
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for g in 1 0; do
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in128_g${g}_r$r llama-3-8b --batch 1 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in512_g${g}_r$r llama-3-8b --batch 1 --in 512 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in2048_g${g}_r$r llama-3-8b --batch 1 --in 2048 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b8_in2048_g${g}_r$r llama-3-8b --batch 8 --in 2048 --out 32
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_g${g}_r$r llama-3-8b --batch 32 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_in2048_g${g}_r$r llama-3-8b --batch 32 --in 2048 --out 32
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
