#!/usr/bin/env bash
# gpu_session27d.sh — one nvidia-h200 call on session 27's last tree (the bulk GEMV opt-in): the
# full kernel tests, CUDA-vs-CPU greedy at llama-2-7b (default, and with every one-token linear
# layer on the bulk GEMV), then llama-2-7b bs 1 in 128: the default chain twice, the persistent
# kernel (LF_CUDA_STREAM=1, its registers changed by the shared ring code), the bulk GEMV on every
# layer, and the tuner with the bulk GEMV among its candidates.
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
dev_vs_cpu
LF_CUDA_BULK=1 LF_CUDA_IMPL=$BULK timeout 200 $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 33 129 > "$OUT/vs_cpu_7b_bulk.log" 2>&1
echo "vs_cpu bulk rc=$? $(tail -1 "$OUT/vs_cpu_7b_bulk.log")"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
dev_bench chain_r1 $A
LF_CUDA_STREAM=1 dev_bench stream $A
LF_CUDA_BULK=1 LF_CUDA_IMPL=$BULK dev_bench bulk $A
LF_CUDA_BULK=1 LF_CUDA_TUNE_VERBOSE=1 dev_bench tuned_bulk $A
dev_bench chain_r2 $A
grep -E "decode step at" "$OUT/bench_tuned_bulk.log" | head -2
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
