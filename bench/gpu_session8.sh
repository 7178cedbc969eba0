#!/usr/bin/env bash
# gpu_session8.sh — issue 4, third round: linear-layer kernels chosen per shape by timing (tuning
# table printed), skinny GEMM with 8 rounds in flight for one token tile; kernel tests; lab;
# decode TPOT; per-kernel durations of one eager decode step under Nsight Compute; HF side by side.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/session8.log"
{
run build-dev/linfer calibrate 2>&1 | grep -E "read|GEMM|graph" | head -6
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"
grep -E "FAIL|checks,|^forward .*decode 3" "$OUT/kernels.log" | head -30
run build-dev/lab/lab_gemv --dtype f16 --m 1,16 2>&1 | grep -E "mma|#"
echo "== bench (tuned), tuning tables:"
LF_CUDA_TUNE_VERBOSE=1 run build-dev/linfer bench -m llama-2-7b --device cuda --in 128 --out 128 --batch 1,4,8,16,32 --warmup 1 --reps 3 --no-progress 2>&1 | grep -vE "^\s*$|^-"
echo "== bench bf16 bs1"
run build-dev/linfer bench -m llama-2-7b --device cuda --dtype bf16 --in 128 --out 128 --batch 1 --warmup 1 --reps 3 --no-progress 2>&1 | grep -E "^bf16"
echo "== ncu per-kernel (eager decode, in 128, 2 tokens)"
if command -v ncu >/dev/null; then
  LF_CUDA_GRAPH=0 timeout 240 ncu --clock-control none --metrics gpu__time_duration.sum --csv \
     bash scripts/device_run.sh cmd build-dev/linfer generate -m llama-2-7b --device cuda --in 128 -n 2 > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
  echo "ncu rc=$? lines $(wc -l < "$OUT/ncu.csv")"
else echo "no ncu"; fi
echo "== HF side by side"
bash bench/hf_side_by_side.sh 1:128:128,16:128:128 2>&1 | tail -5
} > "$L" 2>&1
cat "$L"
