#!/usr/bin/env bash
# bench_device.sh — one device session for `linfer calibrate` and `linfer bench` (docs/bench.md).
#
# Build here with `make device-bundle`, then run on the device machine from the repository root
# with build-dev/linfer, build-dev/lib and build-dev/tests/cuda/test_cuda_kernels carried
# (scripts/device_run.sh checks that the bundle starts with the kernel test binary):
#
#   LINFER_GIT_COMMIT=<commit> bash bench/bench_device.sh [quick]
#
# Steps: calibrate GPU 0 (cache in /tmp, writable on the device), the brief's sweep
# (llama-2-7b, batch 1 and 32, in 128, out 64, 1 warm-up, 3 reps) against the measured ceilings,
# the embedded default `linfer bench` (timed: it must finish in under 2 minutes), and the roofline
# with --gpu measured for the same points. Logs, the calibration file, CSV and JSON go to $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}
mkdir -p "$OUT"
export LINFER_CALIB=${LINFER_CALIB:-/tmp/linfer-calib/calibration.txt}
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
run() { bash scripts/device_run.sh cmd "$@"; }
rc=0

echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') linfer calibrate (LINFER_CALIB=$LINFER_CALIB)"
run build-dev/linfer calibrate 2>&1 | grep -v '^   \|^== 20' | tee "$OUT/calibrate.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
cp -f "$LINFER_CALIB" "$OUT/calibration.txt" 2>/dev/null

echo "== linfer bench -m llama-2-7b --batch 1,32 --in 128 --out 64 --warmup 1 --reps 3"
run build-dev/linfer bench -m llama-2-7b --batch 1,32 --in 128 --out 64 --warmup 1 --reps 3 \
    --csv "$OUT/bench.csv" --json "$OUT/bench.json" 2>&1 | grep -v '^   \|^== 20' | tee "$OUT/bench.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1

if [ "${1:-}" != quick ]; then
  echo "== linfer bench (embedded default)"
  t0=$(date +%s.%N)
  run build-dev/linfer bench --json "$OUT/bench_default.json" 2>&1 | grep -v '^   \|^== 20' | tee "$OUT/bench_default.log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  echo "default bench wall time: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" | tee -a "$OUT/bench_default.log"

  echo "== linfer roofline --gpu measured (same points)"
  run build-dev/linfer roofline -m llama-2-7b --gpu measured --batch 1,32 --in 128 --out 64 2>&1 | grep -v '^   \|^== 20' \
      | tee "$OUT/roofline.log"
fi
exit $rc
