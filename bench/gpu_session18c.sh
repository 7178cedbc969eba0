#!/usr/bin/env bash
# gpu_session18c.sh — one nvidia-h200-x4 call: the all-reduce-with-norm kernel (clusters of 16,
# the default) at TP 2 and TP 4. test_tp llama-2-13b --tp 2,4 in fp16 (greedy identity, the fused
# kernel's check, TPOT ratios, per-call times) and bf16 (identity, the check), then
# `linfer bench --tp 2,4` alternating LF_CUDA_AR_NORM=0 / 1, two rounds, TP 1 twice, TP 4 at C = 8.
# NOT RUNNABLE AT HEAD: it ran on a tree close to docs/results/h200x4-2026-11-21-s18d/
# allreduce_norm_variants.patch (clusters of 16 as the default); at HEAD LF_CUDA_AR_NORM_C is gone.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp f16 rc=$?"
grep -E "^TP" "$OUT/test_tp_f16.log" | head -16
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP [24]" "$OUT/test_tp_bf16.log" | head -8
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do
  timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp1 r$rep: /"
  for arn in 0 1; do
    LF_CUDA_AR_NORM=$arn timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_arn${arn}_r$rep.json" > "$OUT/bench_13b_arn${arn}_r$rep.log" 2>&1
    echo "rc=$? arn$arn r$rep:"; grep -E "^fp16" "$OUT/bench_13b_arn${arn}_r$rep.log"
  done
done
LF_CUDA_AR_NORM_C=8 timeout 200 $R $L bench -m llama-2-13b --tp 4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_c8.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp4 C=8: /"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
