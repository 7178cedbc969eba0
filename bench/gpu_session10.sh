#!/usr/bin/env bash
# gpu_session10.sh — issue 4, fifth round: the skinny GEMM with 16 warps per block as a tuning
# candidate (o_proj/down have only N/16 = 256 blocks); kernel tests; lab at one row; decode TPOT
# of llama-2-7b, llama-3-8b (GQA 32/8, vocab 128256) and llama-2-13b at bs 1 for the
# bandwidth-ratio comparison across shapes; tuning tables in the log.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/session10.log"
{
run build-dev/linfer calibrate 2>&1 | grep -E "HBM read|GEMM fp16"
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"
grep -E "FAIL|checks,|mma16" "$OUT/kernels.log" | head -12
run build-dev/lab/lab_gemv --dtype f16 --m 1 2>&1 | grep -E "mma|cublas|#"
for m in llama-2-7b llama-3-8b llama-2-13b; do
  echo "== $m"
  LF_CUDA_TUNE_VERBOSE=1 run build-dev/linfer bench -m $m --device cuda --in 128 --out 128 --batch 1 --warmup 2 --reps 5 --no-progress \
     --json "$OUT/bench_$m.json" 2>&1 | grep -vE "^\s*$|^-----|^==|^   "
done
} > "$L" 2>&1
cat "$L"
