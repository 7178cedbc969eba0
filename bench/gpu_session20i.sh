#!/usr/bin/env bash
# gpu_session20i.sh — one nvidia-h200 call: cuBLASLt's algorithms for the linear layers at 16,
# 32 and 64 rows (lab_gemv's new `lt` variant: every algorithm of the heuristic timed, the fastest
# kept) against cublasGemmEx (`cublas`, what the engine runs above 16 rows) and the skinny GEMM,
# for llama-2-7b, llama-3-8b and llama-2-13b shapes.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
for m in llama-2-7b llama-3-8b llama-2-13b; do
  timeout 200 $R /tmp/bins/lab_gemv --model $m --m 16,32,64 > "$OUT/lab_gemv_$m.txt" 2>&1; echo "lab $m rc=$?"
  grep -E "^(qkv|o_proj|gate_up|down|lm_head)" "$OUT/lab_gemv_$m.txt" | grep -E "(mma8|cublas|lt#)" | cut -c1-78 | sed "s/^/$m /"
  grep -E "FAIL|^#" "$OUT/lab_gemv_$m.txt" | tail -1
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
