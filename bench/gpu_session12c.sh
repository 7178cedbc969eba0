#!/usr/bin/env bash
# gpu_session12c.sh — one nvidia-h200 call: the decode attention split at a finer grain
# (ATT_SPLIT_GRAIN 32 positions instead of the 128-position ATT_CHUNK; LF_ATTN_GRAIN=128 is the old
# split). Kernel tests and CUDA-vs-CPU logits first, then llama-2-7b decode: `linfer profile`
# (attention's per-op time) and `linfer bench` TPOT at in 128 and 2048, old grain vs new, alternated.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels 2>&1 | tail -4
echo "== CUDA vs CPU logits (llama-2-7b shape, 2 layers)"
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 2>&1 | tail -12
echo "== calibrate (read bandwidth for the ratios)"
$R $L calibrate --no-nccl 2>&1 | grep -E "HBM read|GEMM fp16|graph"
for rep in 1 2; do
for g in 128 32; do
  echo "== grain $g (round $rep)"
  LF_ATTN_GRAIN=$g $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_g${g}_r$rep.json" 2>&1 | grep -E "^fp16"
done
done
for g in 128 32; do
  LF_ATTN_GRAIN=$g $R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b_g$g.json" > "$OUT/profile_7b_g$g.txt" 2>&1
  echo "== profile grain $g: attention rows"; grep -E "^TPOT|^decode_early|^attention" "$OUT/profile_7b_g$g.txt" | head -4
done
} > "$OUT/c.log" 2>&1
cat "$OUT/c.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name c.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
