#!/usr/bin/env bash
# gpu_session15e.sh — one nvidia-h200 call: session 15's committed tree (4819101: cluster-merged
# decode attention with its loads before the PDL wait, no GEMV L2 prefetch). Kernel tests,
# calibrate, then the issue 3 / 4 points: llama-2-7b bs 1 in 128 and 2048 out 128 (three rounds),
# llama-3-8b and llama-2-13b (two), and a per-op profile of llama-2-7b against the roofline.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log")"
dev_calibrate
for rep in 1 2 3; do
  $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b r$rep: /"
done
for rep in 1 2; do
for m in llama-3-8b llama-2-13b; do
  $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m r$rep: /"
done
done
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1; echo "profile rc=$?"
grep -E "^TPOT" "$OUT/profile_7b.txt"
awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up|norm|lm_head|other)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/e.log" 2>&1
cat "$OUT/e.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name e.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
