#!/usr/bin/env bash
# gpu_session29e.sh — one nvidia-h200 call on session 29's tree: the decode attention's pipelined
# chunks for launches not split over the context (many sequences; LF_CUDA_ATTN_PIPE 0 off, 1 full
# chunks, 2 half chunks = the default): kernel tests, CUDA-vs-CPU greedy, lab_attention (7B, 13B;
# batch 8-128, ctx 128-2048; with the tensor-core GQA kernel for MHA beside, `gqa`), the step at
# bs 32 and 128 (two rounds, alternating), bs 8 in 2048, bs 1 (unchanged kernel), memcheck last.
# Ran on 60b198e (the kernel variants it times were removed after; the code is in that commit).
# carry: build-dev/lib build-dev/pack      LINFER_GIT_COMMIT=<commit> bash bench/gpu_session29e.sh
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
dev_calibrate
for m in llama-2-7b llama-2-13b; do
  $R /tmp/bins/lab_attention --model $m --ctx 192,512,2048 --batch 8,32,128 --variants pipe0,pipe1,pipe2,gqa \
     > "$OUT/lab_attention_$m.log" 2>&1; echo "lab_attention $m rc=$?"; grep -E "^ *[0-9]|variant" "$OUT/lab_attention_$m.log" | head -40
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for p in 2 0 1; do LF_CUDA_ATTN_PIPE=$p dev_bench 7b_b32_p${p}_r$r llama-2-7b --batch 32 --in 128 --out 64; done
  for p in 2 0; do
    LF_CUDA_ATTN_PIPE=$p dev_bench 7b_b128_p${p}_r$r llama-2-7b --batch 128 --in 128 --out 64
    LF_CUDA_ATTN_PIPE=$p dev_bench 13b_b32_p${p}_r$r llama-2-13b --batch 32 --in 128 --out 64
  done
done
for p in 2 0; do
  LF_CUDA_ATTN_PIPE=$p dev_bench 7b_b8_in2048_p${p} llama-2-7b --batch 8 --in 2048 --out 32
  LF_CUDA_ATTN_PIPE=$p dev_bench 7b_b1_p${p} llama-2-7b --batch 1 --in 128 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
dev_memcheck_rest $t0
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
