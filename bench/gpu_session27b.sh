#!/usr/bin/env bash
# gpu_session27b.sh — one nvidia-h200 call: the one-token bulk-copy GEMV (src/cuda/gemv_bulk.cu) with rows claimed from a counter.
# The full kernel tests (its checks against the CPU and the chain among them), CUDA-vs-CPU greedy
# at llama-2-7b with every one-token linear layer on it, calibrate, lab_gemv at one row (isolated
# launches), then llama-2-7b bs 1 in 128: the chain without it (LF_CUDA_BULK=0), with every linear
# layer on it (LF_CUDA_IMPL), and the tuner's own choice with it among the candidates, two rounds;
# ring sizes 64 and 160 KiB, claim units of 1 and 4 slots, gate/up left to the tuner; llama-3-8b, llama-2-13b and 7B in 2048 without / with it.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
BULK="qkv:bulk,o_proj:bulk,gate_up:bulk+swiglu,down:bulk,lm_head:bulk"
{
t0=$(date +%s)
dev_kernel_tests
grep -E "gemv-bulk|gemv_bulk" "$OUT/kernels.log" | awk '{print $NF}' | sort | uniq -c
LF_CUDA_IMPL=$BULK timeout 200 $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 33 129 > "$OUT/vs_cpu_7b_bulk.log" 2>&1
echo "vs_cpu bulk rc=$? $(tail -1 "$OUT/vs_cpu_7b_bulk.log")"
dev_calibrate
timeout 200 $R /tmp/bins/lab_gemv --model llama-2-7b --m 1 > "$OUT/lab_gemv_7b.txt" 2>&1; echo "lab_gemv rc=$?"
grep -E "^(qkv|o_proj|gate_up|down|lm_head) " "$OUT/lab_gemv_7b.txt" | awk '{printf "  %-8s %-12s %8s us %6s\n", $1, $3, $4, $6}'
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  LF_CUDA_BULK=0 dev_bench base_r$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$BULK dev_bench bulk_r$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_TUNE_VERBOSE=1 dev_bench tuned_r$r llama-2-7b --batch 1 --in 128 --out 64
done
grep -A6 "at 1 row " "$OUT/bench_tuned_r1.log" | head -8
for kb in 64 160; do
  LF_CUDA_BULK_RING_KB=$kb LF_CUDA_IMPL=$BULK dev_bench bulk_ring$kb llama-2-7b --batch 1 --in 128 --out 64
done
for u in 1 4; do
  LF_CUDA_BULK_UNIT=$u LF_CUDA_IMPL=$BULK dev_bench bulk_unit$u llama-2-7b --batch 1 --in 128 --out 64
done
LF_CUDA_IMPL="qkv:bulk,o_proj:bulk,down:bulk" dev_bench bulk_nogu llama-2-7b --batch 1 --in 128 --out 64
for m in llama-3-8b llama-2-13b; do
  LF_CUDA_BULK=0 dev_bench base_$m $m --batch 1 --in 128 --out 64
  LF_CUDA_IMPL=$BULK dev_bench bulk_$m $m --batch 1 --in 128 --out 64
done
LF_CUDA_BULK=0 dev_bench base_7b_in2048 llama-2-7b --batch 1 --in 2048 --out 64
LF_CUDA_IMPL=$BULK dev_bench bulk_7b_in2048 llama-2-7b --batch 1 --in 2048 --out 64
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
