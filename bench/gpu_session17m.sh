#!/usr/bin/env bash
# gpu_session17m.sh — one nvidia-h200 call on the final session-17 tree (8d0e50a): calibrate, then
# llama-2-7b bs 1 in 128 and in 2048 out 128 (two rounds) and its per-op profile against the
# roofline, for the record after the attention's split unit changed.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_calibrate
for rep in 1 2; do
  $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b r$rep: /"
done
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1; echo "profile rc=$?"
grep -E "^TPOT" "$OUT/profile_7b.txt"
awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up|norm|lm_head|other)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
