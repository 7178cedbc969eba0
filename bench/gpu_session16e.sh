#!/usr/bin/env bash
# Needs the tree of this call: LF_CUDA_FFMA_EARLY existed only for this measurement (the
# committed tree puts both GEMVs under LF_CUDA_GEMV_EARLY, on by default).
# gpu_session16e.sh — one nvidia-h200-x4 call: the FFMA GEMV's first weights loaded before the PDL
# wait (LF_CUDA_FFMA_EARLY=1; llama-2-13b and the TP shapes use the FFMA GEMV) against off. Kernel
# tests with it on (--quick), then llama-2-13b `bench --tp 1,2,4` and llama-3-8b, two interleaved
# rounds each way.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
LF_CUDA_FFMA_EARLY=1 $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/kernels_fe.log" 2>&1; echo "kernels (ffma early) rc=$? $(tail -1 "$OUT/kernels_fe.log")"
grep FAIL "$OUT/kernels_fe.log" | head -3
for rep in 1 2; do for fe in 0 1; do
  echo "== 13b tp 1,2,4, ffma early $fe (round $rep)"
  LF_CUDA_FFMA_EARLY=$fe LF_CUDA_TUNE_VERBOSE=1 timeout 150 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --warmup 1 --reps 3 --json "$OUT/bench_13b_fe${fe}_r$rep.json" > "$OUT/bench_13b_fe${fe}_r$rep.log" 2>&1; grep -E "^fp16|rror" "$OUT/bench_13b_fe${fe}_r$rep.log"
  LF_CUDA_FFMA_EARLY=$fe $R $L bench -m llama-3-8b --batch 1 --in 128 --out 128 --warmup 1 --reps 3 2>&1 | grep -E "^fp16" | sed "s/^/8b fe$fe r$rep: /"
done; done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/e.log" 2>&1
cat "$OUT/e.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name e.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
