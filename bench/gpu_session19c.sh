#!/usr/bin/env bash
# gpu_session19c.sh — one nvidia-h200-x4 call after the FFMA GEMV with the SwiGLU epilogue landed
# (5858426): single-GPU figures of issue 4 on GPU 0 (CUDA-vs-CPU greedy at llama-2-7b, calibrate,
# the per-layer choice at 7B, bench 7B bs 1 in 128 x3, in 2048, bs 32, llama-3-8b and llama-2-13b
# bs 1) and `linfer profile` llama-2-13b at TP 2 and 4 (the all-reduce share of the decode step).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
export LF_ONESHOT_TIMEOUT_S=30
{
t0=$(date +%s)
CUDA_VISIBLE_DEVICES=0 dev_vs_cpu
CUDA_VISIBLE_DEVICES=0 dev_calibrate
CUDA_VISIBLE_DEVICES=0 LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-7b --in 128 -n 8 > "$OUT/tune_7b.log" 2>&1; echo "tune 7b rc=$?"
grep -A6 "linear layers at 1 row " "$OUT/tune_7b.log" | grep -E "gate_up|down|qkv" | cut -c1-200; grep "decode step at 1 row" "$OUT/tune_7b.log"
for r in 1 2 3; do
  CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_r$r.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b r$r: /"
done
CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-2-7b --batch 1 --in 2048 --out 128 --json "$OUT/bench_7b_in2048.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b in2048: /"
CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-2-7b --batch 32 --in 128 --out 128 --json "$OUT/bench_7b_b32.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b bs32: /"
CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-3-8b --batch 1 --in 128 --out 128 --json "$OUT/bench_8b.json" 2>&1 | grep -E "^fp16" | sed "s/^/8b: /"
CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b.json" 2>&1 | grep -E "^fp16" | sed "s/^/13b: /"
echo "t=$(( $(date +%s) - t0 )) s"
for tp in 2 4; do
  timeout 150 $R $L profile -m llama-2-13b --tp $tp --in 128 --out 64 --json "$OUT/profile_13b_tp$tp.json" > "$OUT/profile_13b_tp$tp.txt" 2>&1; echo "profile tp$tp rc=$?"
  grep -iE "all_reduce|^decode" "$OUT/profile_13b_tp$tp.txt" | head -6
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
