#!/usr/bin/env bash
# gpu_session16c.sh — one nvidia-h200 call (issues 3, 4): the step-level check of the linear-layer
# choice (tune_step; LF_CUDA_TUNE_STEP=0 off), the skinny GEMM's first weights before the PDL wait
# (LF_CUDA_GEMV_EARLY=1), and every layer forced onto the skinny GEMM (LF_CUDA_IMPL), against the
# default. CUDA-vs-CPU greedy check, then TPOT: llama-2-7b in 128 and 2048 (three interleaved
# rounds), llama-2-13b and llama-3-8b (two); calibrate for the ratios.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_vs_cpu
M4="qkv:mma4,o_proj:mma4,gate_up:mma+swiglu,down:mma4,lm_head:mma4"
envof() { case $1 in base) echo "LF_X=1";; nostep) echo "LF_CUDA_TUNE_STEP=0";; early) echo "LF_CUDA_GEMV_EARLY=1";;
  mma) echo "LF_CUDA_IMPL=$M4";; mmae) echo "LF_CUDA_IMPL=$M4 LF_CUDA_GEMV_EARLY=1";; esac; }
run() { # model config round in-list
  env LF_CUDA_TUNE_VERBOSE=1 $(envof $2) $R $L bench -m $1 --batch 1 --in $4 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_$1_$2_r$3.json" > "$OUT/bench_$1_$2_r$3.log" 2>&1
  grep -E "^fp16" "$OUT/bench_$1_$2_r$3.log" | sed "s/^/$1 $2 r$3: /"
}
for rep in 1 2 3; do for a in base nostep early mma mmae; do run llama-2-7b $a $rep 128,2048; done; done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do for m in llama-2-13b llama-3-8b; do for a in base early mma mmae; do run $m $a $rep 128; done; done; done
echo "t=$(( $(date +%s) - t0 )) s"
for f in "$OUT"/bench_*_base_r1.log; do echo "== $f"; grep -E "^  [a-z_]+ +->|decode step at" "$f" | head -12; done
dev_calibrate
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/c.log" 2>&1
cat "$OUT/c.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name c.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
