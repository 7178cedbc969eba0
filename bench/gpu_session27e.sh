#!/usr/bin/env bash
# gpu_session27e.sh — one nvidia-h200 call on the review tree (946062b: one device query for both
# one-token kernels, the bulk GEMV's knobs read once): the full kernel tests, and llama-2-7b bs 1
# in 128 with the chain, the persistent kernel and the bulk GEMV on every layer (ring 96 and 160).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
BULK="qkv:bulk,o_proj:bulk,gate_up:bulk+swiglu,down:bulk,lm_head:bulk"
A="llama-2-7b --batch 1 --in 128 --out 64"
{
t0=$(date +%s)
dev_kernel_tests
grep -E "gemv-bulk|gemv_bulk|decode-stream" "$OUT/kernels.log" | awk '{print $1, $NF}' | sort | uniq -c
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
dev_bench chain $A
LF_CUDA_STREAM=1 dev_bench stream $A
LF_CUDA_BULK=1 LF_CUDA_IMPL=$BULK dev_bench bulk $A
LF_CUDA_BULK=1 LF_CUDA_IMPL=$BULK LF_CUDA_BULK_RING_KB=160 dev_bench bulk_ring160 $A
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
