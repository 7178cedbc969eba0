#!/usr/bin/env bash
# gpu_session28b.sh — one nvidia-h200 call: the residual GEMV with the next RMSNorm in its last
# block (lf_cuda_gemv_ffma_norm), second form (28a's last block read the row in four dependent
# rounds; now one, and one thread fences per block). Kernel tests (its checks: bits of GEMV + norm kernel, the chain
# with it on and off), CUDA-vs-CPU greedy at llama-2-7b, calibrate, then bs-1 decode with it on
# (the default) and off (LF_CUDA_NORM_FUSE=0), alternating: llama-2-7b in 128 (two rounds each),
# in 2048, llama-3-8b and llama-2-13b in 128.
# Ran on 01bf61a; the kernels it compares were removed after 28c (docs/perf-notes.md, session 28):
# check that commit out to run it again.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "gemv-norm|gemv_ffma_norm|norm-fused" "$OUT/kernels.log" | awk '{print $1, $NF}' | sort | uniq -c
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_8b.log" 2>&1; echo "vs_cpu 8b rc=$? $(tail -1 $OUT/vs_cpu_8b.log)"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  dev_bench fused_7b_$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_NORM_FUSE=0 dev_bench plain_7b_$r llama-2-7b --batch 1 --in 128 --out 64
done
dev_bench fused_7b_2048 llama-2-7b --batch 1 --in 2048 --out 64
LF_CUDA_NORM_FUSE=0 dev_bench plain_7b_2048 llama-2-7b --batch 1 --in 2048 --out 64
for m in llama-3-8b llama-2-13b; do
  dev_bench fused_$m $m --batch 1 --in 128 --out 64
  LF_CUDA_NORM_FUSE=0 dev_bench plain_$m $m --batch 1 --in 128 --out 64
done
dev_bench fused_7b_3 llama-2-7b --batch 1 --in 128 --out 64
LF_CUDA_NORM_FUSE=0 dev_bench plain_7b_3 llama-2-7b --batch 1 --in 128 --out 64
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
