#!/usr/bin/env bash
# gpu_session26i.sh — one nvidia-h200 call on the review's tree (one split rule for both decode
# attention kernels, the RoPE lane angles shared with the persistent kernel, its row cap dropped):
# the full kernel tests, CUDA-vs-CPU greedy at llama-2-7b and llama-3-8b (the default chain) and at
# llama-2-7b with the persistent kernel on, and llama-2-7b / llama-3-8b bs 1 steps each way once.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "decode-stream" "$OUT/kernels.log" | awk '{print $NF}' | sort | uniq -c
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 33 129 > "$OUT/vs_cpu_8b.log" 2>&1; echo "vs_cpu 8b rc=$? $(tail -1 "$OUT/vs_cpu_8b.log")"
LF_CUDA_STREAM=1 timeout 200 $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 33 129 > "$OUT/vs_cpu_7b_stream.log" 2>&1
echo "vs_cpu stream rc=$? $(tail -1 "$OUT/vs_cpu_7b_stream.log")"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for s in 0 1; do
  LF_CUDA_STREAM=$s dev_bench 7b_s$s llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_STREAM=$s dev_bench 8b_in2048_s$s llama-3-8b --batch 1 --in 2048 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
