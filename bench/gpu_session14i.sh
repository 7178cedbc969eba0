#!/usr/bin/env bash
# gpu_session14i.sh — one short nvidia-h200 call: the fused RoPE with its angles computed once per
# lane pair and shared by q and the new k (4 sincosf per lane instead of 8 for q and 8 for k).
# Kernel tests (bit for bit against the RoPE kernel + attention), CUDA-vs-CPU, then llama-2-7b
# fused / LF_CUDA_FUSE_ROPE=0 at in 128 and 2048, two rounds.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log") $(grep -c 'RoPE.*ok' "$OUT/kernels.log") fused-RoPE checks ok"
grep FAIL "$OUT/kernels.log" | head -3
dev_vs_cpu
for rep in 1 2; do
for f in 1 0; do
  echo "== fuse $f (round $rep)"
  LF_CUDA_FUSE_ROPE=$f $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_fuse${f}_r$rep.json" 2>&1 | grep -E "^fp16"
done
done
} > "$OUT/i.log" 2>&1
cat "$OUT/i.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name i.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
