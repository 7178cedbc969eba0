#!/usr/bin/env bash
# gpu_session21f.sh — one nvidia-h200 call: the skinny GEMM's residual (fp32 y, beta != 0) read before
# the PDL wait like the FFMA GEMV's (LF_CUDA_GEMV_EARLY_Y=0: both after it). Kernel tests, CUDA-vs-CPU
# greedy, then llama-2-7b A/B (two rounds) at bs 4, 8, 16 and at bs 1 with o_proj and down on mma8.
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
  for ey in 0 1; do
    for bs in 4 8 16; do LF_CUDA_GEMV_EARLY_Y=$ey b 7b_b${bs}_y${ey}_r$r llama-2-7b --batch $bs --in 128 --out 128; done
    LF_CUDA_IMPL=o_proj:mma8,down:mma8 LF_CUDA_GEMV_EARLY_Y=$ey b 7b_b1mma_y${ey}_r$r llama-2-7b --batch 1 --in 128 --out 128
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
