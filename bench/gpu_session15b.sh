#!/usr/bin/env bash
# Needs the tree of this call: LF_CUDA_ATTN_EARLY and LF_CUDA_GEMV_PF existed only for these measurements
# (the committed 4819101 keeps the winning arm, gpf0, and LF_CUDA_ATTN_CLUSTER).
# gpu_session15b.sh — one nvidia-h200 call (issues 3, 4, 5): the decode attention's splits merged
# in a thread-block cluster (LF_CUDA_ATTN_CLUSTER), its loads before the dependency wait
# (LF_CUDA_ATTN_EARLY), the skinny GEMM's L2 prefetch before its wait (LF_CUDA_GEMV_PF). Kernel
# tests (cluster merge = global merge bit for bit), CUDA-vs-CPU, then llama-2-7b TPOT at in 128 and
# 2048 over four interleaved rounds, llama-2-13b and llama-3-8b over two.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log") $(grep -c 'cluster merge.*ok' "$OUT/kernels.log") cluster checks ok"
grep FAIL "$OUT/kernels.log" | head -3
LF_CUDA_ATTN_CLUSTER=0 LF_CUDA_ATTN_EARLY=0 $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/kernels_off.log" 2>&1; echo "kernels (cluster, early off) rc=$? $(tail -1 "$OUT/kernels_off.log")"
dev_vs_cpu
echo "t=$(( $(date +%s) - t0 )) s"
envof() { case $1 in base) echo "LF_X=1";; cl0) echo "LF_CUDA_ATTN_CLUSTER=0";; early0) echo "LF_CUDA_ATTN_EARLY=0";;
  gpf0) echo "LF_CUDA_GEMV_PF=0";; gpf0cl0) echo "LF_CUDA_GEMV_PF=0 LF_CUDA_ATTN_CLUSTER=0";; old) echo "LF_CUDA_GEMV_PF=2 LF_CUDA_ATTN_CLUSTER=0 LF_CUDA_ATTN_EARLY=0";; esac; }
for rep in 1 2 3 4; do
for a in base cl0 early0 gpf0 gpf0cl0 old; do
  env $(envof $a) $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_7b_${a}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b $a r$rep: /"
done
done
echo "t=$(( $(date +%s) - t0 )) s"
for m in llama-2-13b llama-3-8b; do
for rep in 1 2; do
for a in base gpf0 old; do
  env $(envof $a) $R $L bench -m $m --batch 1 --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_${m}_${a}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m $a r$rep: /"
done
done
done
echo "t=$(( $(date +%s) - t0 )) s"
dev_calibrate
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/b.log" 2>&1
cat "$OUT/b.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name b.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
