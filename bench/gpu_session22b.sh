#!/usr/bin/env bash
# gpu_session22b.sh — one nvidia-h200 call: why the prefill attention runs at ~190 TFLOP/s.
# Nsight Compute (warp states, scheduler, instruction mix) on the tensor-core attention kernels v2
# and v3 as --attn-bench launches them, their SASS (cuobjdump) kept under $OUT, then lab_gemv at 2048
# rows (cublasGemmEx against cuBLASLt's algorithms for the prefill's GEMMs).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
K=build-dev/tests/cuda/test_cuda_kernels
command -v ncu > /dev/null && echo "ncu: $(ncu --version | tail -1)"
for k in attn_mma2_kernel attn_mma3_kernel; do
  timeout 240 $R ncu --clock-control none -k regex:$k -c 1 --section SpeedOfLight --section Occupancy --section WarpStateStats \
    --section SchedulerStats --section InstructionStats --section ComputeWorkloadAnalysis --section LaunchStats \
    $K --attn-bench > "$OUT/ncu_$k.log" 2>&1
  echo "== ncu $k rc=$?"
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|Issued Ipc|No Eligible|Eligible Warps|Active Warps Per|Warp Cycles Per Issued|Executed Ipc A|SM Busy|Compute \(SM\) Th|Shared Memory Conf|Local" "$OUT/ncu_$k.log" | head -24
  grep -iE "stall|cycles .*(waiting|being)" "$OUT/ncu_$k.log" | head -12
done
if command -v cuobjdump > /dev/null; then
  cuobjdump -sass /tmp/bins/test_cuda_kernels > "$OUT/sass_all.txt" 2>&1
  echo "cuobjdump rc=$? $(wc -l < "$OUT/sass_all.txt") lines"
  for f in attn_mma2_kernelI6__halfLi128 attn_mma3_kernelI6__halfLi128ELi64; do
    awk -v f="$f" '/Function :/ { on = index($0, f) > 0 } on' "$OUT/sass_all.txt" > "$OUT/sass_$f.txt"
    echo "$f: $(grep -c 'HMMA' "$OUT/sass_$f.txt") HMMA, $(grep -c 'LDSM' "$OUT/sass_$f.txt") LDSM, $(grep -c 'MUFU.EX2' "$OUT/sass_$f.txt") MUFU.EX2, $(grep -cE 'STL|LDL' "$OUT/sass_$f.txt") local, $(grep -cE '^\s+/\*[0-9a-f]+\*/' "$OUT/sass_$f.txt") instructions"
  done
  rm -f "$OUT/sass_all.txt"
fi
timeout 200 $R /tmp/bins/lab_gemv --model llama-2-7b --m 2048 --reps 7 --iters 10 > "$OUT/lab_gemv_2048.log" 2>&1
echo "lab_gemv rc=$?"; cat "$OUT/lab_gemv_2048.log"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
