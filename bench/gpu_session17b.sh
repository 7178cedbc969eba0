#!/usr/bin/env bash
# gpu_session17b.sh — one nvidia-h200 call: the fused RMSNorm, second version (the GEMV blocks loop
# over row groups so that each block normalises once; the norm weights loaded before the PDL wait).
# Kernel tests (the fused-norm GEMVs against the CPU reference among them), CUDA-vs-CPU greedy,
# calibrate, then A/B of LF_CUDA_FUSE_NORM=0 (a norm kernel before qkv, gate/up and lm_head) and =1
# (the default, no norm kernels in decode steps of <= 3 rows at 7B) in the same call: llama-2-7b
# bs 1 three rounds, llama-3-8b and llama-2-13b one round, bs 2 and 4 one round.
# NOT RUNNABLE AT HEAD: it ran on HEAD cabc861 + docs/results/h200-2026-11-21-s17b/fused_norm_v2.patch,
# measured slower and reverted (docs/perf-notes.md, session 17); build-dev/linfer_head was cabc861.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log")"
grep -E "FAIL|norm-fused" "$OUT/kernels.log" | head -12
dev_vs_cpu
dev_calibrate
echo "t=$(( $(date +%s) - t0 )) s"
# A: HEAD before session 17 (build-dev/linfer_head), B: LF_CUDA_FUSE_NORM=0, C: =1
for rep in 1 2 3; do
  LF_CUDA_TUNE_VERBOSE=1 $R build-dev/linfer_head bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_head_r$rep.json" > "$OUT/bench_7b_head_r$rep.log" 2>&1
  grep -E "^fp16" "$OUT/bench_7b_head_r$rep.log" | sed "s/^/7b head r$rep: /"
  for fn in 0 1; do
    LF_CUDA_FUSE_NORM=$fn LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_fn${fn}_r$rep.json" > "$OUT/bench_7b_fn${fn}_r$rep.log" 2>&1
    grep -E "^fp16" "$OUT/bench_7b_fn${fn}_r$rep.log" | sed "s/^/7b fn$fn r$rep: /"
  done
done
for m in llama-3-8b llama-2-13b; do
  $R build-dev/linfer_head bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_head.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m head: /"
  for fn in 0 1; do
    LF_CUDA_FUSE_NORM=$fn $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_fn$fn.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m fn$fn: /"
  done
done
for fn in 0 1; do
  LF_CUDA_FUSE_NORM=$fn $R $L bench -m llama-2-7b --batch 2,4 --in 128 --out 64 --json "$OUT/bench_7b_b24_fn$fn.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b fn$fn: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
