#!/usr/bin/env bash
# gpu_session18a.sh — one nvidia-h200-x2 call: the residual all-reduce with the norm after it as
# one kernel (one cluster of C blocks per row, no grid barrier; lf_cuda_oneshot_allreduce_norm,
# session 18). test_tp for llama-2-13b at TP 2 in fp16 (greedy identity, logits, the fused
# kernel against all-reduce + norm kernel, TPOT ratio, all-reduce timings) and bf16 (identity,
# the check), then `linfer bench --tp 2` with LF_CUDA_AR_NORM=0 (two kernels) and =1 (C = 1)
# alternating, two rounds at bs 1; C = 2, 4, 8 once; bs 4 both ways; TP 1 for the ratio.
# NOT RUNNABLE AT HEAD: it ran on 0b8dbf2 plus the first version of the kernel (512 threads per
# block, the cluster's square sums read through distributed shared memory between two cluster
# barriers, LF_CUDA_AR_NORM_C selecting 1-8 blocks per row), not kept; the closest stored tree is
# docs/results/h200x4-2026-11-21-s18d/allreduce_norm_variants.patch (18d's).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 240 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp f16 rc=$?"
grep -E "^TP" "$OUT/test_tp_f16.log" | head -12
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP" "$OUT/test_tp_bf16.log" | head -6
echo "t=$(( $(date +%s) - t0 )) s"
timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp1: /"
for rep in 1 2; do for arn in 0 1; do
  LF_CUDA_AR_NORM=$arn timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp2_arn${arn}_r$rep.json" > "$OUT/bench_13b_tp2_arn${arn}_r$rep.log" 2>&1
  echo "rc=$? $(grep -E '^fp16' "$OUT/bench_13b_tp2_arn${arn}_r$rep.log" | sed "s/^/tp2 arn$arn r$rep: /")"
done; done
for c in 2 4 8; do
  LF_CUDA_AR_NORM_C=$c timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp2_c$c.json" > "$OUT/bench_13b_tp2_c$c.log" 2>&1
  echo "rc=$? $(grep -E '^fp16' "$OUT/bench_13b_tp2_c$c.log" | sed "s/^/tp2 C=$c: /")"
done
for arn in 0 1; do
  LF_CUDA_AR_NORM=$arn timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_tp2_b4_arn$arn.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp2 b4 arn$arn: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
