#!/usr/bin/env bash
# gpu_session17l.sh — one nvidia-h200-x2 call: where 17i-k's GEMV-pushed all-reduce lost its time.
# build-dev/linfer_push is HEAD 224843e + docs/results/h200x2-2026-11-21-s17k/gemv_push_allreduce.patch
# (not committed). `linfer profile -m llama-2-13b --tp 2` (CUPTI, per op) with LF_CUDA_AR_PUSH=0
# (the one-shot all-reduce kernel, as HEAD) and =1, rank 0's tables.
# NOT RUNNABLE AT HEAD without that build (the patch reverted: docs/perf-notes.md, session 17).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
for p in 0 1; do
  LF_CUDA_AR_PUSH=$p timeout 200 $R build-dev/linfer_push profile -m llama-2-13b --tp 2 --in 128 --out 64 --json "$OUT/profile_push$p.json" > "$OUT/profile_push$p.txt" 2>&1
  echo "push $p rc=$?"; grep -E "^TPOT" "$OUT/profile_push$p.txt"
  awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up|norm|all_reduce|lm_head|other)/{print} /^decode_late/{f=0}' "$OUT/profile_push$p.txt"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
