#!/usr/bin/env bash
# gpu_bench_tp.sh — `linfer bench --tp 2` against TP 1 on a 2-GPU machine (issue 5, seed exp3's
# question at two GPU counts): llama-2-13b, in 20, out 100 (exp3's lengths), batch 1..64.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/bench_tp.log"
{
run build-dev/linfer calibrate > /dev/null 2>&1
for tp in 1 2; do
  echo "== tp $tp"
  timeout 200 bash scripts/device_run.sh cmd build-dev/linfer bench -m llama-2-13b --device cuda --tp $tp --batch 1,8,64 --in 20 --out 100 \
    --warmup 1 --reps 3 --no-progress --json "$OUT/bench_13b_tp$tp.json" 2>&1 | grep -vE "^\s*$|^-----|^==|^   "
done
} > "$L" 2>&1
cat "$L"
