#!/usr/bin/env bash
# gpu_session22i.sh — one nvidia-h200 call: the tensor-core attention's lazy O rescale (a warp skips
# the multiplies when no row got a new maximum; LF_CUDA_ATTN_LAZY=0: always). Kernel tests,
# --attn-bench both ways twice, Nsight Compute's stall reasons for v3, llama-2-7b TTFT in 2048
# alternating, two rounds, and CUDA-vs-CPU greedy.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
K=build-dev/tests/cuda/test_cuda_kernels
for r in 1 2; do for z in 0 1; do
  LF_CUDA_ATTN_LAZY=$z $R $K --attn-bench > "$OUT/attn_bench_lazy${z}_r$r.log" 2>&1
  echo "attn-bench lazy=$z r$r rc=$? $(grep 'fp16 prefill' "$OUT/attn_bench_lazy${z}_r$r.log" | grep -oE 'mma v[23] [0-9.]+ ms' | tr '\n' ' ')"
done; done
M=""
for s in barrier long_scoreboard short_scoreboard mio_throttle math_pipe_throttle wait not_selected selected dispatch_stall \
         no_instruction lg_throttle tex_throttle branch_resolving drain membar sleeping misc imc_miss; do
  M="$M${M:+,}smsp__average_warps_issue_stalled_${s}_per_issue_active.ratio"
done
timeout 200 $R ncu --clock-control none -k regex:attn_mma3_kernel -c 1 --section SpeedOfLight --section SchedulerStats \
  --section ComputeWorkloadAnalysis --metrics "$M" $K --attn-bench > "$OUT/ncu_mma3.log" 2>&1
echo "ncu rc=$?"
grep -E "Duration|SM Active|Elapsed Cycles|Eligible Warps|Issue Slots Busy|No Eligible|pipeline" "$OUT/ncu_mma3.log" | head -8
grep -E "stalled" "$OUT/ncu_mma3.log" | awk '{print $1, $NF}' | sed 's/smsp__average_warps_issue_stalled_//; s/_per_issue_active.ratio//' | sort -k2 -g -r | head -10
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do for z in 0 1; do LF_CUDA_ATTN_LAZY=$z dev_bench 7b_in2048_lazy${z}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
