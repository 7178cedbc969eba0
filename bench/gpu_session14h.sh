#!/usr/bin/env bash
# gpu_session14h.sh — one nvidia-h200-x4 call: RoPE inside the decode attention against the RoPE
# kernel (LF_CUDA_FUSE_ROPE=0) under tensor parallelism, llama-2-13b at TP 2 and 4, alternated
# over two rounds (14g's TP 2 was slower than 14e's on another machine).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
for rep in 1 2; do
for f in 1 0; do
  echo "== 13b tp 2,4 fuse $f (round $rep)"
  LF_CUDA_FUSE_ROPE=$f timeout 100 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 2,4 --json "$OUT/bench_13b_fuse${f}_r$rep.json" 2>&1 | grep -E "^fp16|rror"
done
done
} > "$OUT/h.log" 2>&1
cat "$OUT/h.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name h.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
