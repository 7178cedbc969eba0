#!/usr/bin/env bash
# gpu_session25a.sh — one nvidia-h200 call, session 25: the tensor-core GQA decode attention
# (attn_decode_gqa_kernel). Kernel tests (the new kernel against the CPU reference, fused RoPE bit
# for bit against the RoPE kernel + it, cluster = global merge), CUDA-vs-CPU greedy at llama-2-7b
# and llama-3-8b, the lab (llama-3-8b, llama-2-70b and llama-2-7b heads: the new kernel against
# attn_decode_kernel), then llama-3-8b whole steps with LF_CUDA_ATTN_GQA=1 against 0, alternating.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_8b.log" 2>&1; echo "vs_cpu 8b rc=$?"
tail -1 "$OUT/vs_cpu_8b.log"
LAB=/tmp/bins/lab_attention
timeout 120 $R $LAB --model llama-3-8b --ctx 128,512,2048,4096 --batch 1,8,32 --variants default,nogqa --reps 7 > "$OUT/lab_8b.log" 2>&1; echo "lab 8b rc=$?"
timeout 60 $R $LAB --model llama-2-70b --ctx 128,2048 --batch 1,32 --variants default,nogqa --reps 7 > "$OUT/lab_70b.log" 2>&1; echo "lab 70b rc=$?"
timeout 60 $R $LAB --model llama-2-7b --ctx 128,2048 --batch 1,32 --variants default,gqa --reps 7 > "$OUT/lab_7b.log" 2>&1; echo "lab 7b rc=$?"
for f in lab_8b lab_70b lab_7b; do grep -vE "^#" "$OUT/$f.log" | sed "s/^/$f /"; grep "checks" "$OUT/$f.log"; done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for g in 1 0; do
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in128_g${g}_r$r llama-3-8b --batch 1 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in2048_g${g}_r$r llama-3-8b --batch 1 --in 2048 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_g${g}_r$r llama-3-8b --batch 32 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_in2048_g${g}_r$r llama-3-8b --batch 32 --in 2048 --out 32
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
