#!/usr/bin/env bash
# gpu_session18b.sh — one nvidia-h200-x2 call, after 18a: the all-reduce-with-norm kernel with 256
# threads per block, the row's square sums pushed into every block of the cluster (one cluster
# barrier), clusters of 8 (default) and 16. test_tp llama-2-13b TP 2 fp16 at C = 8 and C = 16
# (identity, the fused kernel's check, per-call times), bf16 (the check), then `linfer bench --tp 2`
# alternating LF_CUDA_AR_NORM=0 / C = 8 / C = 16, two rounds at bs 1, one at bs 4; TP 1 for the ratio.
# (Ran with the cluster-16 attribute set once per process: test_tp at C = 16, whose ranks are
# threads of one process, hung on the second GPU's failed launch; fixed after the call.)
# NOT RUNNABLE AT HEAD: it ran on a tree close to docs/results/h200x4-2026-11-21-s18d/
# allreduce_norm_variants.patch without its 32/64-block path; at HEAD LF_CUDA_AR_NORM_C is gone.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
for c in 8 16; do
  LF_CUDA_AR_NORM_C=$c timeout 240 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype f16 > "$OUT/test_tp_f16_c$c.log" 2>&1; echo "test_tp f16 C=$c rc=$?"
  grep -E "^TP 2" "$OUT/test_tp_f16_c$c.log" | head -12
done
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP 2" "$OUT/test_tp_bf16.log" | head -6
echo "t=$(( $(date +%s) - t0 )) s"
timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp1: /"
for rep in 1 2; do for v in arn0 c8 c16; do
  case $v in arn0) env="LF_CUDA_AR_NORM=0";; c8) env="LF_CUDA_AR_NORM_C=8";; c16) env="LF_CUDA_AR_NORM_C=16";; esac
  env $env timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp2_${v}_r$rep.json" > "$OUT/bench_13b_tp2_${v}_r$rep.log" 2>&1
  echo "rc=$? $(grep -E '^fp16' "$OUT/bench_13b_tp2_${v}_r$rep.log" | sed "s/^/tp2 $v r$rep: /")"
done; done
for v in arn0 c8 c16; do
  case $v in arn0) env="LF_CUDA_AR_NORM=0";; c8) env="LF_CUDA_AR_NORM_C=8";; c16) env="LF_CUDA_AR_NORM_C=16";; esac
  env $env timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_tp2_b4_$v.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp2 b4 $v: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
