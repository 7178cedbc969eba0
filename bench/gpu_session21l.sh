#!/usr/bin/env bash
# gpu_session21l.sh — one nvidia-h200 call: the RoPE kernel for HF's layout without bias with 16-byte
# accesses (8 pairs per thread, angles once per block; LF_CUDA_ROPE_VEC=0: the batched scalar kernel).
# Kernel tests (bit for bit against the fused decode attention, against the CPU), CUDA-vs-CPU greedy,
# then llama-2-7b TTFT at in 2048 A/B, two rounds, and one CUPTI profile of the prefill each way.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "^rope|attention_rope" "$OUT/kernels.log" | head -8 | cut -c1-120
dev_vs_cpu
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do for v in 0 1; do LF_CUDA_ROPE_VEC=$v b 7b_in2048_rv${v}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
for v in 0 1; do
  LF_CUDA_ROPE_VEC=$v timeout 150 $R $L profile -m llama-2-7b --in 2048 --out 8 > "$OUT/profile_rv$v.txt" 2>&1
  echo "profile rv=$v rc=$?"; grep -A14 "^prefill:" "$OUT/profile_rv$v.txt" | grep -E "^prefill|rope"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
