#!/usr/bin/env bash
# gpu_session27c.sh — one nvidia-h200 call: which part of the bulk GEMV's co-residency costs.
# llama-2-7b bs 1 in 128, every one-token linear layer on the bulk GEMV (LF_CUDA_IMPL), against
# the chain (LF_CUDA_BULK=0): the default (ring 96 KiB, copies before the PDL wait), no copies
# before the wait (LF_CUDA_BULK_EARLY=0), one block per SM (LF_CUDA_BULK_PAD_KB=32) with and
# without the early copies; two rounds of the chain and the default.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
BULK="qkv:bulk,o_proj:bulk,gate_up:bulk+swiglu,down:bulk,lm_head:bulk"
A="llama-2-7b --batch 1 --in 128 --out 64"
{
t0=$(date +%s)
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  LF_CUDA_BULK=0 dev_bench base_r$r $A
  LF_CUDA_IMPL=$BULK dev_bench bulk_r$r $A
done
LF_CUDA_IMPL=$BULK LF_CUDA_BULK_EARLY=0 dev_bench bulk_late $A
LF_CUDA_IMPL=$BULK LF_CUDA_BULK_PAD_KB=32 dev_bench bulk_pad $A
LF_CUDA_IMPL=$BULK LF_CUDA_BULK_PAD_KB=32 LF_CUDA_BULK_EARLY=0 dev_bench bulk_pad_late $A
LF_CUDA_IMPL=$BULK LF_CUDA_BULK_SLOT_KB=32 dev_bench bulk_slot32 $A
LF_CUDA_IMPL="o_proj:bulk" dev_bench bulk_o_only $A
LF_CUDA_IMPL="qkv:bulk" dev_bench bulk_qkv_only $A
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
