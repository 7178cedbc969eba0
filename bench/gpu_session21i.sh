#!/usr/bin/env bash
# gpu_session21i.sh — one nvidia-h200 call: the SwiGLU kernel with 16-byte accesses and the RoPE
# kernel's loads batched over 4 heads (LF_CUDA_SWIGLU_VEC=0, LF_CUDA_ROPE_BATCH=0: as before). Kernel
# tests, CUDA-vs-CPU greedy, then llama-2-7b A/B, two rounds: TTFT at in 2048 (bs 1) and bs 32 in
# 128; one CUPTI profile of the 2048-token prefill each way.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for v in 0 1; do
    LF_CUDA_SWIGLU_VEC=$v LF_CUDA_ROPE_BATCH=$v b 7b_in2048_v${v}_r$r llama-2-7b --batch 1 --in 2048 --out 16
    LF_CUDA_SWIGLU_VEC=$v LF_CUDA_ROPE_BATCH=$v b 7b_b32_v${v}_r$r llama-2-7b --batch 32 --in 128 --out 128
  done
done
for v in 0 1; do
  LF_CUDA_SWIGLU_VEC=$v LF_CUDA_ROPE_BATCH=$v timeout 150 $R $L profile -m llama-2-7b --in 2048 --out 8 > "$OUT/profile_v$v.txt" 2>&1
  echo "profile v=$v rc=$?"; grep -A14 "^prefill:" "$OUT/profile_v$v.txt" | grep -E "^prefill|rope|activation|attention|norm"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
