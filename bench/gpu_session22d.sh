#!/usr/bin/env bash
# gpu_session22d.sh — one nvidia-h200 call: the tensor-core attention's blocks in longest-first order
# over all heads (grid (heads, tiles); LF_CUDA_ATTN_LPT=0: the old (tiles, heads) order). Kernel
# tests, --attn-bench both ways, Nsight Compute's SM-active share for v2 both ways, llama-2-7b TTFT
# in 2048 alternating, two rounds.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
K=build-dev/tests/cuda/test_cuda_kernels
for l in 0 1; do
  LF_CUDA_ATTN_LPT=$l $R $K --attn-bench > "$OUT/attn_bench_lpt$l.log" 2>&1; echo "attn-bench lpt=$l rc=$?"
  grep "fp16 prefill" "$OUT/attn_bench_lpt$l.log"
done
for l in 0 1; do
  LF_CUDA_ATTN_LPT=$l timeout 200 $R ncu --clock-control none -k "regex:attn_mma2_kernel" -c 1 --section SpeedOfLight \
    --section SchedulerStats $K --attn-bench > "$OUT/ncu_lpt$l.log" 2>&1
  echo "ncu lpt=$l rc=$? $(grep -E 'Elapsed Cycles|SM Active Cycles|Duration' "$OUT/ncu_lpt$l.log" | awk '{print $1, $2, $NF}' | tr '\n' ' ')"
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do for l in 0 1; do LF_CUDA_ATTN_LPT=$l dev_bench 7b_in2048_lpt${l}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
