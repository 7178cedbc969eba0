#!/usr/bin/env bash
# gpu_session26a.sh — one nvidia-h200 call, session 26's first tree: the persistent one-token
# decode kernel (decode_stream.cu, LF_CUDA_STREAM=1). Its kernel checks (test_cuda_kernels
# --stream: against the CPU and the kernel chain), CUDA-vs-CPU greedy at llama-2-7b with it on
# (alone: the kernel; in a batch: the chain), calibrate, then llama-2-7b bs 1 steps with it on and
# off, alternating, and llama-2-13b / llama-3-8b bs 1 once each way.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 180 $R build-dev/tests/cuda/test_cuda_kernels --stream > "$OUT/stream_checks.log" 2>&1
echo "stream checks rc=$? $(tail -1 "$OUT/stream_checks.log")"
grep -E "FAIL|not used" "$OUT/stream_checks.log" | head -5
LF_CUDA_STREAM=1 timeout 200 $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 33 129 > "$OUT/vs_cpu_7b_stream.log" 2>&1
echo "vs_cpu stream rc=$? $(tail -1 "$OUT/vs_cpu_7b_stream.log")"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for s in 1 0; do
    LF_CUDA_STREAM=$s dev_bench 7b_in128_s${s}_r$r llama-2-7b --batch 1 --in 128 --out 128
  done
done
for s in 1 0; do
  LF_CUDA_STREAM=$s dev_bench 7b_in2048_s${s} llama-2-7b --batch 1 --in 2048 --out 64
  LF_CUDA_STREAM=$s dev_bench 13b_in128_s${s} llama-2-13b --batch 1 --in 128 --out 64
  LF_CUDA_STREAM=$s dev_bench 8b_in128_s${s} llama-3-8b --batch 1 --in 128 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
