#!/usr/bin/env bash
# (Its racecheck line used --exclude, an option this compute-sanitizer does not have; 22h tried
# --kernel-name-exclude, which ended in the tool's internal error: 22f's unfiltered run is the record.)
# gpu_session22g.sh — one nvidia-h200 call on session 22's tree: compute-sanitizer racecheck over the
# quick kernel tests with cuBLAS's nvjet kernels excluded (22f: all 46 hazards were inside them),
# llama-2-7b TTFT in 2048 with --out 16 and --out 128 alternating (22e measured with 16, 22f with
# 128), three rounds, then HF transformers side by side (bench/hf_side_by_side.sh).
# carry: build-dev/lib build-dev/pack .peers
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
K=build-dev/tests/cuda/test_cuda_kernels
timeout 280 $R compute-sanitizer --tool racecheck --exclude kns=nvjet --error-exitcode 99 $K --quick > "$OUT/sanitize_racecheck.log" 2>&1
echo "racecheck (nvjet excluded) rc=$? $(grep -E 'RACECHECK SUMMARY' "$OUT/sanitize_racecheck.log" | tail -1) | $(grep -E 'checks, .* failed' "$OUT/sanitize_racecheck.log" | tail -1)"
grep -E "Race reported" "$OUT/sanitize_racecheck.log" | head -3
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2 3; do for o in 16 128; do dev_bench 7b_in2048_out${o}_r$r llama-2-7b --batch 1 --in 2048 --out $o; done; done
timeout 420 bash bench/hf_side_by_side.sh 1:128:128,32:128:128 > "$OUT/hf_side_by_side.txt" 2>&1; echo "hf rc=$?"; cat "$OUT/hf_side_by_side.txt" | tail -5
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
