#!/usr/bin/env bash
# gpu_session25b.sh — one nvidia-h200 call, session 25: the GQA decode kernel after 25a, with its
# split partials merged in parallel (every split's max and sum loaded at once, 8 splits' p.V in
# flight) and 4 or 8 warps per block. Kernel tests; CUDA-vs-CPU greedy at llama-3-8b with the
# kernel on and off; the lab over its settings (warps gw4/gw8, split cap gs8/64, bps1) against
# attn_decode_kernel (nogqa); llama-3-8b whole steps at bs 1 and 32 on and off.
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
timeout 200 $R $LAB --model llama-3-8b --ctx 128,512,2048,4096 --batch 1,8,32 --variants nogqa,default,gs8,gs16,gw8,gw8+gs8,bps1 --reps 7 > "$OUT/lab_8b.log" 2>&1; echo "lab 8b rc=$?"
timeout 100 $R $LAB --model llama-2-70b --ctx 128,2048 --batch 1,8,32 --variants nogqa,default,gs8,gw8+gs8 --reps 7 > "$OUT/lab_70b.log" 2>&1; echo "lab 70b rc=$?"
for f in lab_8b lab_70b; do grep -vE "^#|^==|^   " "$OUT/$f.log" | sed "s/^/$f /"; grep "checks" "$OUT/$f.log"; done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for g in 1 0; do
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in128_g${g}_r$r llama-3-8b --batch 1 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in2048_g${g}_r$r llama-3-8b --batch 1 --in 2048 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_g${g}_r$r llama-3-8b --batch 32 --in 128 --out 64
  done
  LF_CUDA_ATTN_GQA=1 LF_CUDA_ATTN_GQA_SPLITS=8 dev_bench 8b_in2048_g1s8_r$r llama-3-8b --batch 1 --in 2048 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
