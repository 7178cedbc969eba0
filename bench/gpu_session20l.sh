#!/usr/bin/env bash
# gpu_session20l.sh — one nvidia-h200 call after the review commit 9cd941e (tune_lt and
# tune_bucket share their scratch check and events; host code only) and the dev_bench helper:
# kernel tests, the cuBLASLt choice at 32 rows, llama-2-7b bs 32 with LF_CUDA_LT=1 / 0, bs 1.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-7b --batch 32 --in 128 -n 8 > "$OUT/tune_b32.log" 2>&1; echo "tune b32 rc=$?"
grep -A6 "at 32 rows (us per call): cublasGemmEx" "$OUT/tune_b32.log" | cut -c1-120
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for lt in 1 0; do LF_CUDA_LT=$lt dev_bench 7b_b32_lt$lt llama-2-7b --batch 32 --in 128 --out 128; done
dev_bench 7b_b1 llama-2-7b --batch 1 --in 128 --out 128
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
