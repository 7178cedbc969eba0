#!/usr/bin/env bash
# gpu_session23e.sh — one nvidia-h200 call, session 23: the review's refactor of sampling.cu (the two
# block sums as one template; same registers and shared memory) checked: the sampler's checks, the
# kernel timing, CUDA-vs-CPU greedy, and GPU- against host-sampled ids (linear-layer choice fixed).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
if [ "${ALL_KERNELS:-0}" = 1 ]; then # every kernel test (23f), else the sampler's alone
  dev_kernel_tests
  echo "sampler: $(grep -c '^sample ' "$OUT/kernels.log") checks, $(grep '^sample ' "$OUT/kernels.log" | grep -c FAIL) failed"
else
  $R build-dev/tests/cuda/test_cuda_kernels --sample > "$OUT/sample_checks.log" 2>&1; echo "sample checks rc=$? $(tail -1 "$OUT/sample_checks.log")"
fi
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_kernels --sample-bench > "$OUT/sample_bench.log" 2>&1; grep '^sample-bench' "$OUT/sample_bench.log" | grep -E ' (1|32) x '
for v in gpu host; do h=""; [ $v = host ] && h=--host-sampling
  LF_CUDA_TUNE=0 LF_CUDA_LT=0 timeout 200 $R $L generate -m llama-2-7b --batch 32 --in 128 -n 16 --ignore-eos --quiet --print-ids --temperature 0.8 --top-k 40 --top-p 0.95 $h > "$OUT/ids_$v.log" 2>&1
done
echo "ids top_k 40 + top_p 0.95: $(diff <(grep 'ids\[' "$OUT/ids_gpu.log") <(grep 'ids\[' "$OUT/ids_host.log") | grep -c '^<') of $(grep -c 'ids\[' "$OUT/ids_gpu.log") rows differ"
} > "$OUT/f.log" 2>&1
dev_finish
