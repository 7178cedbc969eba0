#!/usr/bin/env bash
# gpu_session16f.sh — one nvidia-h200 call: session 16's committed tree (d44381c). Kernel tests,
# CUDA-vs-CPU greedy, calibrate, then the issue 3 / 4 points with the calibration in place:
# llama-2-7b bs 1 in 128 and 2048 out 128 (three rounds), llama-3-8b and llama-2-13b (two), bs 8 and
# 32 (one), and a per-op profile of llama-2-7b against the roofline.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
dev_calibrate
for rep in 1 2 3; do
  LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_r$rep.json" > "$OUT/bench_7b_r$rep.log" 2>&1; grep -E "^fp16" "$OUT/bench_7b_r$rep.log" | sed "s/^/7b r$rep: /"
done
for rep in 1 2; do for m in llama-3-8b llama-2-13b; do
  $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m r$rep: /"
done; done
$R $L bench -m llama-2-7b --batch 8,32 --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_7b_b8_32.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b: /"
echo "t=$(( $(date +%s) - t0 )) s"
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1; echo "profile rc=$?"
grep -E "^TPOT" "$OUT/profile_7b.txt"
awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up|norm|lm_head|other)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
grep -E "^  [a-z_]+ +->" "$OUT/bench_7b_r1.log" | awk '{print $1, $2}' | tr '\n' ' '; echo
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
