#!/usr/bin/env bash
# gpu_session11.sh — issue 4, sixth round: the skinny GEMM software-pipelined, its first round of
# weights requested before the PDL dependency wait. Kernel tests, lab at one row, 7B decode TPOT
# (bs 1, 4) with the tuning table, PDL on and off.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/session11.log"
{
run build-dev/linfer calibrate 2>&1 | grep -E "HBM read"
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"
grep -E "FAIL|checks," "$OUT/kernels.log" | head -12
run build-dev/lab/lab_gemv --dtype f16 --m 1 2>&1 | grep -E "mma|cublas|#"
for pdl in 1 0; do
  echo "== LF_CUDA_PDL=$pdl"
  LF_CUDA_PDL=$pdl LF_CUDA_TUNE_VERBOSE=1 run build-dev/linfer bench -m llama-2-7b --device cuda --in 128 --out 128 --batch 1,4 \
     --warmup 2 --reps 5 --no-progress --json "$OUT/bench_pdl$pdl.json" 2>&1 | grep -vE "^\s*$|^-----|^==|^   "
done
} > "$L" 2>&1
cat "$L"
