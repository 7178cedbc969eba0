#!/usr/bin/env bash
# gpu_session22n.sh — one nvidia-h200 call after the review refactor (the tensor-core attention
# kernels' block-tile selection and output store as shared helpers, named flag bits; the GEMVs'
# early_y switch through one helper; no behaviour change): kernel tests, CUDA-vs-CPU greedy,
# --attn-bench, llama-2-7b TTFT in 2048 and bs 1 decode.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_kernels --attn-bench > "$OUT/attn_bench.log" 2>&1; echo "attn-bench rc=$?"
grep "fp16 prefill" "$OUT/attn_bench.log"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
dev_bench 7b_in2048 llama-2-7b --batch 1 --in 2048 --out 16
dev_bench 7b_bs1 llama-2-7b --batch 1 --in 128 --out 128
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
