#!/usr/bin/env bash
# gpu_session21j.sh — one nvidia-h200 call: the norm kernel with up to 4 float4 per thread
# (LF_CUDA_NORM_WIDE=0: one per thread, up to 1024 threads, as before). Kernel tests, CUDA-vs-CPU
# greedy, then A/B two rounds: llama-2-7b TTFT at in 2048, bs 1 in 128; llama-2-13b bs 1 (width
# 5120); one CUPTI profile of the 2048-token prefill each way.
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
    LF_CUDA_NORM_WIDE=$v b 7b_in2048_w${v}_r$r llama-2-7b --batch 1 --in 2048 --out 16
    LF_CUDA_NORM_WIDE=$v b 7b_b1_w${v}_r$r llama-2-7b --batch 1 --in 128 --out 128
    LF_CUDA_NORM_WIDE=$v b 13b_b1_w${v}_r$r llama-2-13b --batch 1 --in 128 --out 128
  done
done
for v in 0 1; do
  LF_CUDA_NORM_WIDE=$v timeout 150 $R $L profile -m llama-2-7b --in 2048 --out 8 > "$OUT/profile_w$v.txt" 2>&1
  echo "profile w=$v rc=$?"; grep -A14 "^prefill:" "$OUT/profile_w$v.txt" | grep -E "^prefill|rope|activation|norm"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
