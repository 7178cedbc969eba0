#!/usr/bin/env bash
# gpu_session18h.sh — one nvidia-h200-x4 call: the all-reduce-with-norm kernel as it landed (32
# blocks per row of 256 threads, a thread per element, the blocks' square sums through tagged
# words; 18d's fastest variant). test_tp llama-2-13b --tp 2,4 in fp16 (greedy identity, the fused
# kernel's check, TPOT ratios, per-call times) and bf16 (identity, the check); `linfer bench
# --tp 2,4` alternating LF_CUDA_AR_NORM=0 / 1, two rounds at bs 1 with TP 1 once per round, one
# round at bs 4; `linfer profile` at TP 2 and 4 (the all-reduce share of the decode step) unless
# NO_PROFILE is set (gpu_session18e-g.sh, the same commands on the variants measured before).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
export LF_ONESHOT_TIMEOUT_S=30   # a hang traps after 30 s instead of 300
{
t0=$(date +%s)
timeout 150 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp f16 rc=$?"
grep -E "^TP" "$OUT/test_tp_f16.log" | cut -c1-220
timeout 150 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP [24]" "$OUT/test_tp_bf16.log" | cut -c1-220
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do
  timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/tp1 r$rep: /"
  for arn in 0 1; do
    LF_CUDA_AR_NORM=$arn timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_arn${arn}_r$rep.json" > "$OUT/bench_13b_arn${arn}_r$rep.log" 2>&1
    echo "rc=$? arn$arn r$rep: $(grep -E '^fp16' "$OUT/bench_13b_arn${arn}_r$rep.log" | awk '{print $8}' | tr '\n' ' ')"
  done
done
for arn in 0 1; do
  LF_CUDA_AR_NORM=$arn timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_b4_arn$arn.json" > "$OUT/bench_13b_b4_arn$arn.log" 2>&1
  echo "rc=$? b4 arn$arn: $(grep -E '^fp16' "$OUT/bench_13b_b4_arn$arn.log" | awk '{print $8}' | tr '\n' ' ')"
done
[ -n "${NO_PROFILE:-}" ] || for tp in 2 4; do
  timeout 150 $R $L profile -m llama-2-13b --tp $tp --in 128 --out 64 --json "$OUT/profile_13b_tp$tp.json" > "$OUT/profile_13b_tp$tp.txt" 2>&1; echo "profile tp$tp rc=$?"
  grep -iE "all_reduce|norm|decode" "$OUT/profile_13b_tp$tp.txt" | head -6
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
