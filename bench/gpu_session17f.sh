#!/usr/bin/env bash
# gpu_session17f.sh — one nvidia-h200 call (HEAD): the decode attention's split, swept in the step.
# 17c measured the attention at 5.2 us per layer at llama-2-7b in 128 (0.167 ms per step) against
# ~0.7 us of cache bytes. Splits of LF_ATTN_GRAIN positions (32, the default; 64; 128) with the
# splits merged in a cluster (default) or through global memory (LF_CUDA_ATTN_CLUSTER=0):
# llama-2-7b bs 1 in 128 out 128 two rounds, in 2048 one round.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_calibrate
for rep in 1 2; do for g in 32 64 128; do for cl in 1 0; do
  LF_ATTN_GRAIN=$g LF_CUDA_ATTN_CLUSTER=$cl $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_in128_g${g}_cl${cl}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/in128 grain $g cluster $cl r$rep: /"
done; done; done
for g in 32 64 128; do
  LF_ATTN_GRAIN=$g $R $L bench -m llama-2-7b --batch 1 --in 2048 --out 128 --json "$OUT/bench_in2048_g$g.json" 2>&1 | grep -E "^fp16" | sed "s/^/in2048 grain $g: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
