#!/usr/bin/env bash
# (Outcome: the tool failed with an internal error (a hardware exception it could not handle) when
# nvjet kernels were excluded; 22f's unfiltered run, all 46 hazards in nvjet_*, is the record.)
# gpu_session22h.sh — one nvidia-h200 call: compute-sanitizer racecheck over the quick kernel tests
# with cuBLAS's nvjet kernels excluded (22f: all 46 hazards of the unfiltered run were inside them),
# and memcheck of the same tests again for the record.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
K=build-dev/tests/cuda/test_cuda_kernels
timeout 280 $R compute-sanitizer --tool racecheck --kernel-name-exclude kns=nvjet --error-exitcode 99 $K --quick > "$OUT/sanitize_racecheck.log" 2>&1
echo "racecheck (nvjet excluded) rc=$? $(grep -E 'RACECHECK SUMMARY' "$OUT/sanitize_racecheck.log" | tail -1) | $(grep -E 'checks, .* failed' "$OUT/sanitize_racecheck.log" | tail -1)"
grep -E "Race reported|unrecognised" "$OUT/sanitize_racecheck.log" | head -3
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
