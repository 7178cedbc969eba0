#!/usr/bin/env bash
# gpu_session12f.sh — one nvidia-h200-x4 call: the TP comparisons in one command each (issues 5,
# 6, 8's TP <= 4 part), with this session's attention split:
#   - `linfer profile -m llama-2-13b --tp 1,2,4`: rank 0's decode step per TP (all-reduce share);
#   - seed exp3's grid (in 20, out 100) at TP 1, 2, 4 for llama-2-13b and TP 2, 4 for llama-2-70b
#     (140 GB of fp16 weights do not fit one H200), `linfer bench --tp LIST`.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
echo "== profile llama-2-13b --tp 1,2,4"
timeout 100 $R $L profile -m llama-2-13b --in 128 --out 64 --reps 2 --tp 1,2,4 --json "$OUT/prof13.json" > "$OUT/prof13.txt" 2>&1
echo "rc=$?"; sed -n '/^decode at early context/,$p' "$OUT/prof13.txt"
echo "== exp3 grid, llama-2-13b, TP 1,2,4"
timeout 160 $R $L bench -m llama-2-13b --tp 1,2,4 --batch 1,4,16,64,256 --in 20 --out 100 --warmup 1 --reps 3 --no-progress \
  --json "$OUT/exp3_13b.json" > "$OUT/exp3_13b.txt" 2>&1; echo "rc=$?"; grep -E "^====|^fp16" "$OUT/exp3_13b.txt"
echo "== exp3 grid, llama-2-70b, TP 2,4"
timeout 150 $R $L bench -m llama-2-70b --tp 2,4 --batch 1,16,64 --in 20 --out 100 --warmup 1 --reps 3 --no-progress \
  --json "$OUT/exp3_70b.json" > "$OUT/exp3_70b.txt" 2>&1; echo "rc=$?"; grep -E "^====|^fp16|rror" "$OUT/exp3_70b.txt"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
