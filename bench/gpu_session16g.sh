#!/usr/bin/env bash
# gpu_session16g.sh — one nvidia-h200 call: session 16's final tree. Kernel tests (--quick),
# CUDA-vs-CPU greedy, and the whole-step check of the timing's cuBLAS choices where it applies at
# one GPU: llama-2-7b at bs 8 and 16 with the check on and off (LF_CUDA_TUNE_STEP=0), two rounds,
# the tuner's table and the check's verdict printed; bs 1 once.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
$R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log")"
grep FAIL "$OUT/kernels.log" | head -3
dev_vs_cpu
for rep in 1 2; do for st in 1 0; do
  LF_CUDA_TUNE_STEP=$st LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m llama-2-7b --batch 8,16 --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_7b_st${st}_r$rep.json" > "$OUT/bench_7b_st${st}_r$rep.log" 2>&1
  grep -E "^fp16" "$OUT/bench_7b_st${st}_r$rep.log" | sed "s/^/7b step-check $st r$rep: /"
done; done
grep -hE "layers at|^  [a-z_]+ +->|decode step at" "$OUT/bench_7b_st1_r1.log" | awk '{print $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14}'
LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_b1.json" > "$OUT/bench_7b_b1.log" 2>&1; grep -E "^fp16" "$OUT/bench_7b_b1.log" | sed "s/^/7b bs1: /"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/g.log" 2>&1
cat "$OUT/g.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name g.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
