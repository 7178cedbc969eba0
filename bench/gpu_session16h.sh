#!/usr/bin/env bash
# gpu_session16h.sh — one nvidia-h200-x2 call after the review commit 005617f (one helper for the
# event-timed graph replays of the step check and the all-reduce timing): test_tp for llama-2-13b
# at TP 2 (greedy identity, TPOT ratio, all-reduce timing; the step check runs on both ranks).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
LF_CUDA_TUNE_VERBOSE=1 timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype f16 > "$OUT/test_tp.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP|decode step at" "$OUT/test_tp.log" | head -12
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/h.log" 2>&1
cat "$OUT/h.log"
