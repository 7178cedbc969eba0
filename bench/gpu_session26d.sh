#!/usr/bin/env bash
# gpu_session26d.sh — one nvidia-h200 call: Nsight Compute on one launch of the persistent decode
# kernel (llama-2-7b bs 1, in 128): the full section set, then the source page (SASS with warp
# stall samples per instruction) as CSV, and the details page as text.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
LF_CUDA_STREAM=1 LF_CUDA_GRAPH=0 timeout 400 $R ncu --set full -k regex:decode_stream -s 2 -c 1 -o "$OUT/ds" -f \
  $L bench -m llama-2-7b --batch 1 --in 128 --out 8 --warmup 0 --reps 1 > "$OUT/ncu_run.log" 2>&1
echo "ncu rc=$?"; tail -3 "$OUT/ncu_run.log"
$R ncu --import "$OUT/ds.ncu-rep" --page details > "$OUT/details.txt" 2>&1; echo "details rc=$?"
$R ncu --import "$OUT/ds.ncu-rep" --page source --csv --print-source sass > "$OUT/source.csv" 2>&1; echo "source rc=$? $(wc -l < "$OUT/source.csv") lines"
grep -E "Duration|Memory Throughput|DRAM Throughput|Issue Slots Busy|No Eligible|Active Warps Per Scheduler|Eligible Warps" "$OUT/details.txt" | head -20
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
