#!/usr/bin/env bash
# gpu_session20j.sh — one nvidia-h200 call: steps of 17..64 rows take, per linear layer, the
# fastest of cublasGemmEx and cuBLASLt's algorithms (tune_lt; LF_CUDA_LT=0 keeps GemmEx). Kernel
# tests (every Lt algorithm against the CPU), CUDA-vs-CPU (its 33-token prompt runs the Lt path),
# the choices at 32 rows, llama-2-7b bench A/B at bs 32 (two rounds), bs 24 and 64; llama-3-8b and
# llama-2-13b at bs 32; llama-2-7b bs 1 once.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "lt algorithm" "$OUT/kernels.log" | head -2 | cut -c1-150; grep -c "lt algorithm.* ok" "$OUT/kernels.log"
dev_vs_cpu
grep -E "^ *33 " "$OUT/vs_cpu_7b.log" | head -2
LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-7b --batch 32 --in 128 -n 8 > "$OUT/tune_b32.log" 2>&1; echo "tune b32 rc=$?"
grep -A6 "at 32 rows (us per call): cublasGemmEx" "$OUT/tune_b32.log" | cut -c1-120
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for lt in 1 0; do LF_CUDA_LT=$lt b 7b_b32_lt${lt}_r$r llama-2-7b --batch 32 --in 128 --out 128; done
done
for lt in 1 0; do
  LF_CUDA_LT=$lt b 7b_b24_lt$lt llama-2-7b --batch 24 --in 128 --out 128
  LF_CUDA_LT=$lt b 7b_b64_lt$lt llama-2-7b --batch 64 --in 128 --out 128
  LF_CUDA_LT=$lt b 8b_b32_lt$lt llama-3-8b --batch 32 --in 128 --out 128
  LF_CUDA_LT=$lt b 13b_b32_lt$lt llama-2-13b --batch 32 --in 128 --out 128
done
b 7b_b1 llama-2-7b --batch 1 --in 128 --out 128
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
