#!/usr/bin/env bash
# (Ran on an uncommitted tree of session 22 whose impl numbers 3-5 were experiments; the commit keeps
# one v3 form, the 3-buffer one (22e's impl 4), as impl 3: docs/perf-notes.md, session 22.)
# gpu_session22c.sh — one nvidia-h200 call: the tensor-core attention's softmax as FMA + ex2.ftz (all
# kernels), and impl 5 (v2 at 3 blocks per SM, 168 registers). Kernel tests, --attn-bench, CUDA-vs-CPU
# greedy with impl 2 and 5, llama-2-7b TTFT in 2048 alternating LF_CUDA_ATTN_MMA=2/5, two rounds,
# and Nsight Compute's scheduler view of impl 5.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "mma v" "$OUT/kernels.log" | head -5 | cut -c1-120
$R build-dev/tests/cuda/test_cuda_kernels --attn-bench > "$OUT/attn_bench.log" 2>&1; echo "attn-bench rc=$?"
grep prefill "$OUT/attn_bench.log"
for i in 2 5; do
  LF_CUDA_ATTN_MMA=$i $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_mma$i.log" 2>&1
  echo "vs_cpu mma$i rc=$? $(tail -1 "$OUT/vs_cpu_mma$i.log")"
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do for i in 2 5; do LF_CUDA_ATTN_MMA=$i dev_bench 7b_in2048_mma${i}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
timeout 200 $R ncu --clock-control none -k "regex:attn_mma2_kernel<__half, 128, 3>" -c 1 --section SpeedOfLight --section Occupancy \
  --section WarpStateStats --section SchedulerStats --section LaunchStats build-dev/tests/cuda/test_cuda_kernels --attn-bench > "$OUT/ncu_mma5.log" 2>&1
echo "ncu rc=$?"; grep -E "attn_mma2_kernel<|Duration|Registers Per|Achieved Active Warps|Issue Slots Busy|No Eligible|Eligible Warps|SM Active|Elapsed Cycles" "$OUT/ncu_mma5.log" | head -12
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
