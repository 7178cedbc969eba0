#!/usr/bin/env bash
# gpu_session14c.sh — one nvidia-h200-x4 call (issue 5): the all-reduce fused with the RMSNorm
# after it (one kernel per row: push, sum, residual, norm). test_tp for llama-2-13b fp16 at TP 2
# and 4 (identity against TP 1, fused against separate kernels bit for bit, TPOT, the one-token
# all-reduce) and bf16 without the speed runs; `linfer bench --tp 1,2,4` with the fusion on and
# `--tp 2,4` off (LF_CUDA_AR_NORM=0), alternated over two rounds; the all-reduce share per TP.
# 14d was this script again (LOG=d) after the fused kernel was changed to load all of a peer's
# words before waiting on any (14c waited word by word).
# (The fusion was on by default when this ran; it was removed after session 14 — docs/perf-notes.md —
# so this script now records a run rather than repeating it.)
set -u
LOG=${LOG:-c}
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader
dev_calibrate
echo "== test_tp 13b fp16"
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 > "$OUT/test_tp.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP|all-reduce" "$OUT/test_tp.log"
echo "== test_tp 13b bf16"
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP" "$OUT/test_tp_bf16.log"
for rep in 1 2; do
  echo "== 13b tp 1,2,4 fused (round $rep)"
  LF_CUDA_AR_NORM=1 timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_fused_r$rep.json" 2>&1 | grep -E "^fp16|rror"
  echo "== 13b tp 2,4 separate (round $rep)"
  LF_CUDA_AR_NORM=0 timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 2,4 --json "$OUT/bench_13b_sep_r$rep.json" 2>&1 | grep -E "^fp16|rror"
done
echo "== profile 13b tp 1,2,4"
LF_CUDA_AR_NORM=1 timeout 240 $R $L profile -m llama-2-13b --in 128 --out 64 --reps 2 --tp 1,2,4 --json "$OUT/prof13.json" > "$OUT/prof13.txt" 2>&1; echo "profile rc=$?"
tail -8 "$OUT/prof13.txt"
} > "$OUT/$LOG.log" 2>&1
cat "$OUT/$LOG.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name $LOG.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
