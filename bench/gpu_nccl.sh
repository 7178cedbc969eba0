#!/usr/bin/env bash
# gpu_nccl.sh — one device session for the NCCL all-reduce calibration (docs/bench.md, "NCCL
# all-reduce"): `linfer calibrate` on a machine with 2 (or more) GPUs, then the roofline of
# LLaMA-2-13B at TP 1 and 2 against those measured ceilings, and a short summary.
#
# Build here with `make device-bundle`, then run on the device machine (e.g. nvidia-h200-x2) from
# the repository root with build-dev/linfer, build-dev/lib and build-dev/tests/cuda/test_cuda_kernels
# carried (scripts/device_run.sh checks that the bundle starts with the kernel test binary):
#
#   bash bench/gpu_nccl.sh [quick]        # quick: calibrate --quick
#
# NCCL is not part of the bundle: linfer dlopens it ($LINFER_NCCL_LIB, libnccl.so.2, libnccl.so,
# then the Python package nvidia-nccl). Writes at most 5 files to $OUT: device.txt (GPUs, driver,
# CUDA), calibrate.log, calibration.txt (the cache, per-size table included), roofline.log,
# summary.txt.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}
mkdir -p "$OUT"
scratch=$(mktemp -d /tmp/lf-nccl-XXXXXX)   # device_run.sh's own files (device.txt, loader.err, ...)
export LINFER_CALIB=${LINFER_CALIB:-/tmp/linfer-calib/calibration.txt}
export NCCL_DEBUG=${NCCL_DEBUG:-WARN}       # NCCL's warnings, if any, land in calibrate.log
# run SECONDS CMD...: CMD through device_run.sh (bundled libraries), its header and files kept out of $OUT
run() {
  local t=$1; shift
  OUT="$scratch" timeout "$t" bash scripts/device_run.sh cmd "$@" >"$scratch/run.log" 2>&1
  local rc=$?
  # drop device_run.sh's header (its first line and the indented lines right after it)
  awk 'NR == 1 && /^== .* UTC on / { h = 1; next } h && /^   / { next } { h = 0; print }' "$scratch/run.log"
  return $rc
}
rc=0
quick=()
[ "${1:-}" = quick ] && quick=(--quick)

ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ')
echo "== $(date -u '+%Y-%m-%d %H:%M:%S UTC') $ngpu GPU(s); LINFER_CALIB=$LINFER_CALIB; NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-unset (linfer sets 0)}"
[ "$ngpu" -ge 2 ] || echo "warning: fewer than 2 GPUs: calibrate will report that there is nothing to measure"

echo "== linfer calibrate ${quick[*]}"
t0=$(date +%s.%N)
run 420 build-dev/linfer calibrate "${quick[@]}" | tee "$OUT/calibrate.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
echo "calibrate wall time: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" | tee -a "$OUT/calibrate.log"
cp -f "$scratch/device.txt" "$OUT/device.txt" 2>/dev/null
cp -f "$LINFER_CALIB" "$OUT/calibration.txt" 2>/dev/null || echo "no calibration file at $LINFER_CALIB"

echo "== linfer roofline -m llama-2-13b --gpu measured --tp 1,2 --batch 1 --in 128 --out 128"
{
  run 60 build-dev/linfer roofline -m llama-2-13b --gpu measured --tp 1,2 --batch 1 --in 128 --out 128 || echo "roofline rc=$?"
  echo "== the same, --explain (ceilings and all-reduce lines)"
  run 60 build-dev/linfer roofline -m llama-2-13b --gpu measured --tp 2 --batch 1 --in 128 --out 128 --explain \
      | grep -E 'ceilings:|all-reduce over|all-reduce =' | sort -u
  echo "== datasheet: the preset of this GPU (assumed all-reduce), for comparison"
  run 60 build-dev/linfer roofline -m llama-2-13b --tp 1,2 --batch 1 --in 128 --out 128 \
      | grep -E 'predicted latency|^tp |^ *[12] +1 +128 +128 ' | head -4
} 2>&1 | tee "$OUT/roofline.log"
grep -q '^roofline rc=' "$OUT/roofline.log" && rc=1

{
  echo "== summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $ngpu GPU(s): $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | sort | uniq -c | sed 's/^ *//' | tr '\n' ' '))"
  grep -E '^NCCL all-reduce over|^all-reduce over [0-9]+ GPUs:|^NCCL all-reduce:' "$OUT/calibrate.log" || echo "no all-reduce lines in calibrate.log"
  echo "decode-token messages (size bytes time_us algBW busBW):"
  grep -E '^(2|8|10) KiB |^256 MiB ' "$OUT/calibrate.log" | awk '{ printf "  %s %s %s %s %s %s\n", $1, $2, $3, $4, $5, $6 }'
  echo "ceilings (measured, datasheet/assumed, ratio):"
  grep -E '^all-reduce (latency|busBW)' "$OUT/calibrate.log" | cut -c1-72 | sed 's/^/  /' 
  echo "cache keys:"
  grep -E '^ar_(gpus|latency_s|busbw)' "$OUT/calibration.txt" 2>/dev/null | sed 's/^/  /'
  echo "roofline llama-2-13b, batch 1, in 128, out 128:"
  awk '/^== / { mem = 0 } /^== datasheet/ { src = "datasheet" } /^memory per GPU/ { mem = 1 }
       !mem && /^ *[12] +1 +128 +128 / { printf "  %-9s tp %s: ttft %s ms, tpot %s ms\n", src ? src : "measured", $1, $5, $7 }' \
      "$OUT/roofline.log"
  grep -E 'all-reduce over 2 GPUs:' "$OUT/roofline.log" | head -1 | sed 's/^ */  /'
  echo "rc=$rc"
} | tee "$OUT/summary.txt"
rm -rf "$scratch"
exit $rc
