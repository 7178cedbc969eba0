#!/usr/bin/env bash
# gpu_session26h.sh — one nvidia-h200 call on session 26's last tree: the persistent decode kernel
# in its kept form (whole rows per warp on CUDA cores, 8 consumer warps; opt-in LF_CUDA_STREAM=1).
# The full kernel tests (the chain unchanged, the kernel's checks among them), CUDA-vs-CPU greedy
# at llama-2-7b with the kernel off (the default) and on, then llama-2-7b bs 1 in 128 with it off
# and on, two rounds, and the timing-only no-math (4) and bare-stream (7) forms.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "decode-stream" "$OUT/kernels.log" | awk '{print $NF}' | sort | uniq -c
dev_vs_cpu
LF_CUDA_STREAM=1 timeout 200 $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 33 129 > "$OUT/vs_cpu_7b_stream.log" 2>&1
echo "vs_cpu stream rc=$? $(tail -1 "$OUT/vs_cpu_7b_stream.log")"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  LF_CUDA_STREAM=0 dev_bench chain_r$r llama-2-7b --batch 1 --in 128 --out 64
  LF_CUDA_STREAM=1 dev_bench stream_r$r llama-2-7b --batch 1 --in 128 --out 64
done
for d in 4 7; do
  LF_CUDA_STREAM=1 LF_CUDA_STREAM_DEBUG=$d dev_bench debug$d llama-2-7b --batch 1 --in 128 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
