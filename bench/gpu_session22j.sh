#!/usr/bin/env bash
# (Measured and reverted: the commit keeps the old order and has no LF_CUDA_ATTN_QK_ILP; the
# patch is docs/results/h200-2026-11-22-s22j/qk_ilp.patch.)
# gpu_session22j.sh — one nvidia-h200 call: v3's QK MMAs in k-step order (LF_CUDA_ATTN_QK_ILP=0: the
# old tile-by-tile order). Kernel tests, CUDA-vs-CPU greedy, --attn-bench alternating twice, llama-2-7b
# TTFT in 2048 alternating, two rounds.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
K=build-dev/tests/cuda/test_cuda_kernels
for r in 1 2; do for z in 0 1; do
  LF_CUDA_ATTN_QK_ILP=$z $R $K --attn-bench > "$OUT/attn_bench_ilp${z}_r$r.log" 2>&1
  echo "attn-bench ilp=$z r$r rc=$? $(grep 'prefill' "$OUT/attn_bench_ilp${z}_r$r.log" | grep -oE '(fp16|bf16)|mma v3 [0-9.]+ ms' | tr '\n' ' ')"
done; done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do for z in 0 1; do LF_CUDA_ATTN_QK_ILP=$z dev_bench 7b_in2048_ilp${z}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
