#!/usr/bin/env bash
# gpu_session17d.sh — one nvidia-h200-x2 call: the norm after each residual all-reduce inside the
# push all-reduce kernel (lf_cuda_oneshot_allreduce_norm, session 17). test_tp for llama-2-13b at
# TP 2 in fp16 (greedy identity, logits, TPOT ratio, all-reduce timing) and bf16 (identity), then
# `linfer bench --tp 2` with LF_CUDA_AR_NORM=0 (all-reduce, then a norm kernel) and =1 (the
# default) alternating, two rounds at bs 1 and one at bs 4, and TP 1 for the ratio.
# NOT RUNNABLE AT HEAD: it ran on HEAD cabc861 + docs/results/h200x2-2026-11-21-s17e/allreduce_norm.patch
# with the barrier taken by thread 0 (17e: by the block's last thread); slower, reverted (docs/perf-notes.md).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 240 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp f16 rc=$?"
grep -E "^TP" "$OUT/test_tp_f16.log" | head -8
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP" "$OUT/test_tp_bf16.log" | head -4
echo "t=$(( $(date +%s) - t0 )) s"
timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp1: /"
for rep in 1 2; do for arn in 0 1; do
  LF_CUDA_AR_NORM=$arn timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp2_arn${arn}_r$rep.json" > "$OUT/bench_13b_tp2_arn${arn}_r$rep.log" 2>&1
  echo "rc=$? $(grep -E '^fp16' "$OUT/bench_13b_tp2_arn${arn}_r$rep.log" | sed "s/^/tp2 arn$arn r$rep: /")"
done; done
for arn in 0 1; do
  LF_CUDA_AR_NORM=$arn timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_tp2_b4_arn$arn.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp2 b4 arn$arn: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
