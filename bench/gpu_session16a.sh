#!/usr/bin/env bash
# Needs the tree of this call: LF_CUDA_TUNE_GRAPH (the per-layer timing from a graph) was measured
# worse and removed; LF_CUDA_GEMV_EARLY was off by default then and its first version made the
# skinny GEMM twice as slow (the 16b/16c trees restructured it).
# gpu_session16a.sh — one nvidia-h200 call (issues 3, 4): the skinny GEMM's first round of weights
# loaded before the PDL wait (LF_CUDA_GEMV_EARLY=1), the linear-layer tuning timed inside a CUDA
# graph instead of eagerly (LF_CUDA_TUNE_GRAPH=1), and the fixed rule (LF_CUDA_GEMV=16: the skinny
# GEMM for every layer, SwiGLU fused) against the default. Kernel tests with the early loads, the
# tuner's choices (LF_CUDA_TUNE_VERBOSE), then TPOT of llama-2-7b (three interleaved rounds),
# llama-2-13b and llama-3-8b (two), bs 1 in 128 out 128; calibrate last.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
LF_CUDA_GEMV_EARLY=1 $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/kernels_early.log" 2>&1; echo "kernels (early) rc=$? $(tail -1 "$OUT/kernels_early.log")"
grep FAIL "$OUT/kernels_early.log" | head -3
envof() { case $1 in base) echo "LF_X=1";; tg) echo "LF_CUDA_TUNE_GRAPH=1";; early) echo "LF_CUDA_GEMV_EARLY=1";;
  tge) echo "LF_CUDA_TUNE_GRAPH=1 LF_CUDA_GEMV_EARLY=1";; fixed) echo "LF_CUDA_GEMV=16";; fixede) echo "LF_CUDA_GEMV=16 LF_CUDA_GEMV_EARLY=1";; esac; }
run() { # model config round
  env LF_CUDA_TUNE_VERBOSE=1 $(envof $2) $R $L bench -m $1 --batch 1 --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_$1_$2_r$3.json" > "$OUT/bench_$1_$2_r$3.log" 2>&1
  grep -E "^fp16" "$OUT/bench_$1_$2_r$3.log" | sed "s/^/$1 $2 r$3: /"
}
for rep in 1 2 3; do for a in base tg early tge fixed fixede; do run llama-2-7b $a $rep; done; done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do for m in llama-2-13b llama-3-8b; do for a in base tg early tge; do run $m $a $rep; done; done; done
echo "t=$(( $(date +%s) - t0 )) s"
for m in llama-2-7b llama-2-13b llama-3-8b; do for a in base tg; do
  echo "== $m $a"; grep -A5 "CUDA linear layers at 1 row" "$OUT/bench_${m}_${a}_r1.log" | head -6
done; done
dev_calibrate
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/a.log" 2>&1
cat "$OUT/a.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name a.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
