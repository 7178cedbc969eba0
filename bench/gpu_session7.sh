#!/usr/bin/env bash
# gpu_session7.sh — issue 4, second round: programmatic dependent launch (PDL) on top of the
# decode graph and the skinny GEMM. Calibrate first (the roofline then uses measured ceilings),
# kernel tests, GEMV lab (M = 1, 4, 16), decode TPOT for PDL on/off and the skinny-GEMM
# crossover, and the context-2048 decode point.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/session7.log"
{
run build-dev/linfer calibrate 2>&1 | tail -12
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"
grep -E "FAIL|checks,|^forward .*decode 3" "$OUT/kernels.log" | head -40
run build-dev/lab/lab_gemv --dtype f16 --m 1,4,16 2>&1
B="build-dev/linfer bench -m llama-2-7b --device cuda --in 128 --out 128 --warmup 1 --reps 3 --no-progress"
for cfg in "16 1" "16 0" "2 1" "4 1" "8 1"; do set -- $cfg
  echo "== LF_CUDA_GEMV=$1 LF_CUDA_PDL=$2"
  LF_CUDA_GEMV=$1 LF_CUDA_PDL=$2 run $B --batch 1,4,8,16,32 2>&1 | grep -E "^fp16|^dtype"
done
echo "== ctx 2048, bs 1 (default settings)"
run build-dev/linfer bench -m llama-2-7b --device cuda --in 2048 --out 128 --batch 1 --warmup 1 --reps 3 --no-progress 2>&1 | grep -E "^fp16|^dtype"
} > "$L" 2>&1
cat "$L"
