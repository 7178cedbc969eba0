#!/usr/bin/env bash
# (Ran on an uncommitted tree of session 22 whose impl numbers 3-5 were experiments; the commit keeps
# one v3 form, the 3-buffer one (22e's impl 4), as impl 3: docs/perf-notes.md, session 22.)
# gpu_session22e.sh — one nvidia-h200 call: the tensor-core attention v3 (128 rows per block, 32 keys
# per step) with 2 K/V buffers (impl 3) or 3 (impl 4, one barrier per step) against v2. Kernel tests,
# --attn-bench, CUDA-vs-CPU greedy with impls 3 and 4, llama-2-7b TTFT in 2048 alternating
# LF_CUDA_ATTN_MMA=2/3/4 two rounds, Nsight Compute's stall reasons for impl 4, and the CUPTI profile
# of the prefill with impl 4.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "mma v[34]" "$OUT/kernels.log" | head -4 | cut -c1-120
K=build-dev/tests/cuda/test_cuda_kernels
$R $K --attn-bench > "$OUT/attn_bench.log" 2>&1; echo "attn-bench rc=$?"; grep "prefill" "$OUT/attn_bench.log"
for i in 3 4; do
  LF_CUDA_ATTN_MMA=$i $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_mma$i.log" 2>&1
  echo "vs_cpu mma$i rc=$? $(tail -1 "$OUT/vs_cpu_mma$i.log")"
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do for i in 2 3 4; do LF_CUDA_ATTN_MMA=$i dev_bench 7b_in2048_mma${i}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
timeout 200 $R ncu --clock-control none -k "regex:attn_mma3_kernel<__half, 128, 32, 3>" -c 1 --section SpeedOfLight --section SchedulerStats \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" $K --attn-bench > "$OUT/ncu_mma4.log" 2>&1
echo "ncu rc=$?"; grep -E "Duration|SM Active|Elapsed Cycles|Eligible Warps|Issue Slots|No Eligible" "$OUT/ncu_mma4.log" | head
grep -E "stalled" "$OUT/ncu_mma4.log" | sort -k3 -n -r | awk '$NF+0 > 0.05' | head -12
LF_CUDA_ATTN_MMA=4 timeout 150 $R $L profile -m llama-2-7b --in 2048 --out 8 > "$OUT/profile_mma4.txt" 2>&1
echo "profile rc=$?"; grep -A16 "^prefill:" "$OUT/profile_mma4.txt"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
