#!/usr/bin/env bash
# gpu_session28c.sh — one nvidia-h200 call: the norms inside the FFMA GEMVs, both forms
# (LF_CUDA_NORM_FUSE=1: the residual layer's last block; =2: qkv and gate/up normalise their input
# on the fly) against none (0, the default). Kernel tests, CUDA-vs-CPU greedy with =2 at
# llama-2-7b and llama-3-8b, calibrate, then bs-1 decode in rounds of 0 / 2 / 1.
# Ran on dbed0cf; the kernels it compares were removed after 28c (docs/perf-notes.md, session 28):
# check that commit out to run it again.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "gemv-norm|gemv_ffma_norm|norm-fused|gemv-xn|gemv_ffma_xn|norm-xn" "$OUT/kernels.log" | awk '{print $1, $NF}' | sort | uniq -c
LF_CUDA_NORM_FUSE=2 dev_vs_cpu
LF_CUDA_NORM_FUSE=2 $R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_8b.log" 2>&1; echo "vs_cpu 8b (xn) rc=$? $(tail -1 $OUT/vs_cpu_8b.log)"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2 3; do
  LF_CUDA_NORM_FUSE=0 dev_bench off_7b_$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_NORM_FUSE=2 dev_bench xn_7b_$r llama-2-7b --batch 1 --in 128 --out 64
done
LF_CUDA_NORM_FUSE=1 dev_bench last_7b llama-2-7b --batch 1 --in 128 --out 64
for m in llama-3-8b llama-2-13b; do
  LF_CUDA_NORM_FUSE=0 dev_bench off_$m $m --batch 1 --in 128 --out 64
  LF_CUDA_NORM_FUSE=2 dev_bench xn_$m $m --batch 1 --in 128 --out 64
done
LF_CUDA_NORM_FUSE=0 dev_bench off_7b_2048 llama-2-7b --batch 1 --in 2048 --out 64
LF_CUDA_NORM_FUSE=2 dev_bench xn_7b_2048 llama-2-7b --batch 1 --in 2048 --out 64
LF_CUDA_NORM_FUSE=0 dev_bench off_7b_b4 llama-2-7b --batch 4 --in 128 --out 64
LF_CUDA_NORM_FUSE=2 dev_bench xn_7b_b4 llama-2-7b --batch 4 --in 128 --out 64
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
