#!/usr/bin/env bash
# gpu_session26f.sh — one nvidia-h200 call: the persistent decode kernel with 15 consumer warps,
# CUDA-core rows by default (tensor-core rows: debug 8), the K/V rows prefetched into L2, the
# weights evict-first in L2. Its checks; llama-2-7b bs 1 in 128 against the chain and the timing-
# only variants (no attention 1, no barriers 2, no math 4, tensor-core rows 8, no prefetch 16, bare
# stream 7); then 7B in 2048, 13B and 8B in 128, each way.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 180 $R build-dev/tests/cuda/test_cuda_kernels --stream > "$OUT/stream_checks.log" 2>&1
echo "stream checks rc=$? $(tail -1 "$OUT/stream_checks.log")"
grep -E "FAIL|not used" "$OUT/stream_checks.log" | head -5
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
LF_CUDA_STREAM=0 dev_bench chain llama-2-7b --batch 1 --in 128 --out 64
LF_CUDA_STREAM=1 dev_bench stream llama-2-7b --batch 1 --in 128 --out 64
for d in 8 16 1 2 4 7; do
  LF_CUDA_STREAM=1 LF_CUDA_STREAM_DEBUG=$d dev_bench debug$d llama-2-7b --batch 1 --in 128 --out 64
done
LF_CUDA_STREAM=0 dev_bench chain2 llama-2-7b --batch 1 --in 128 --out 64
LF_CUDA_STREAM=1 dev_bench stream2 llama-2-7b --batch 1 --in 128 --out 64
for s in 1 0; do
  LF_CUDA_STREAM=$s dev_bench 7b_in2048_s${s} llama-2-7b --batch 1 --in 2048 --out 64
  LF_CUDA_STREAM=$s dev_bench 13b_in128_s${s} llama-2-13b --batch 1 --in 128 --out 64
  LF_CUDA_STREAM=$s dev_bench 8b_in128_s${s} llama-3-8b --batch 1 --in 128 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
