#!/usr/bin/env bash
# gpu_session17g.sh — one nvidia-h200 call (HEAD): confirms 17f's finding (decode attention splits
# of 64 positions faster than 32 at short contexts) before the default changes: LF_ATTN_GRAIN=32
# and 64 interleaved, llama-2-7b bs 1 in 128 (three rounds) and in 512 (two), llama-3-8b and
# llama-2-13b in 128 (two), llama-2-7b bs 4 in 128 (one).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_calibrate
for rep in 1 2 3; do for g in 32 64; do
  LF_ATTN_GRAIN=$g $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_in128_g${g}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b in128 grain $g r$rep: /"
done; done
for rep in 1 2; do for g in 32 64; do
  LF_ATTN_GRAIN=$g $R $L bench -m llama-2-7b --batch 1 --in 512 --out 128 --json "$OUT/bench_7b_in512_g${g}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b in512 grain $g r$rep: /"
  for m in llama-3-8b llama-2-13b; do
    LF_ATTN_GRAIN=$g $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_g${g}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m grain $g r$rep: /"
  done
done; done
for g in 32 64; do
  LF_ATTN_GRAIN=$g $R $L bench -m llama-2-7b --batch 4 --in 128 --out 128 --json "$OUT/bench_7b_b4_g$g.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b bs4 grain $g: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
