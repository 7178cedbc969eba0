#!/usr/bin/env bash
# gpu_session18d.sh — one nvidia-h200-x4 call: the all-reduce-with-norm kernel with 16 blocks per
# row (one cluster, the default), 32 and 64 (no cluster: the blocks' square sums through tagged
# words). test_tp llama-2-13b --tp 2,4 fp16 at each (identity, the check, per-call times), bf16 at
# 64 (the check), then `linfer bench --tp 2,4` alternating LF_CUDA_AR_NORM=0 / C = 16 / 32 / 64, two
# rounds, TP 1 once per round.
# NOT RUNNABLE AT HEAD: it ran on 0b8dbf2 + docs/results/h200x4-2026-11-21-s18d/
# allreduce_norm_variants.patch; the landed kernel is its 32-block path (LF_CUDA_AR_NORM_C is gone).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
for c in 16 32 64; do
  LF_CUDA_AR_NORM_C=$c timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype f16 > "$OUT/test_tp_f16_c$c.log" 2>&1; echo "test_tp f16 C=$c rc=$?"
  grep -E "^TP [24]: (greedy|all-reduce|TPOT)" "$OUT/test_tp_f16_c$c.log" | cut -c1-200
done
LF_CUDA_AR_NORM_C=64 timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype bf16 --no-speed > "$OUT/test_tp_bf16_c64.log" 2>&1; echo "test_tp bf16 C=64 rc=$?"
grep -E "^TP [24]: all-reduce with norm" "$OUT/test_tp_bf16_c64.log"
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do
  timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp1 r$rep: /"
  for v in arn0 c16 c32 c64; do
    case $v in arn0) env="LF_CUDA_AR_NORM=0";; *) env="LF_CUDA_AR_NORM_C=${v#c}";; esac
    env $env timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_${v}_r$rep.json" > "$OUT/bench_13b_${v}_r$rep.log" 2>&1
    echo "rc=$? $v r$rep: $(grep -E '^fp16' "$OUT/bench_13b_${v}_r$rep.log" | awk '{print $8}' | tr '\n' ' ')"
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
