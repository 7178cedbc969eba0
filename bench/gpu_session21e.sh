#!/usr/bin/env bash
# gpu_session21e.sh — one nvidia-h200 call: the FFMA GEMV's rounds after the first staged in shared
# memory with cp.async before the PDL wait (LF_CUDA_GEMV_STAGE=0 off). Kernel tests, CUDA-vs-CPU
# greedy, lab_gemv at one row (llama-2-7b, llama-2-13b) both ways, the 7B timing table, then bs 1
# in 128 A/B: llama-2-7b and llama-2-13b two rounds, llama-3-8b, 7B in 2048.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
for m in llama-2-7b llama-2-13b; do for t in 0 1; do
  LF_CUDA_GEMV_STAGE=$t timeout 120 $R /tmp/bins/lab_gemv --model $m --m 1 > "$OUT/lab_${m}_s$t.txt" 2>&1; echo "lab $m stage=$t rc=$?"
  grep -E "^(qkv|o_proj|gate_up|down|lm_head) +1 (ffma|ffma8) " "$OUT/lab_${m}_s$t.txt"
done; done
LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-7b --batch 1 --in 128 -n 8 > "$OUT/tune_7b.log" 2>&1; echo "tune rc=$?"
grep -E "^  [a-z_]+ +->" "$OUT/tune_7b.log" | cut -c1-40
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for t in 0 1; do
    LF_CUDA_GEMV_STAGE=$t b 7b_s${t}_r$r llama-2-7b --batch 1 --in 128 --out 128
    LF_CUDA_GEMV_STAGE=$t b 13b_s${t}_r$r llama-2-13b --batch 1 --in 128 --out 128
  done
done
for t in 0 1; do
  LF_CUDA_GEMV_STAGE=$t b 8b_s$t llama-3-8b --batch 1 --in 128 --out 128
  LF_CUDA_GEMV_STAGE=$t b 7b_in2048_s$t llama-2-7b --batch 1 --in 2048 --out 128
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
