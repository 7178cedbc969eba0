#!/usr/bin/env bash
# gpu_session21c.sh — one nvidia-h200 call: the norm kernel's weights and the FFMA GEMV's residual
# loaded before the PDL wait (LF_CUDA_NORM_EARLY, LF_CUDA_GEMV_EARLY_Y; 0 = after it, as before).
# Kernel tests, CUDA-vs-CPU greedy, then bs 1 in 128 A/B: llama-2-7b in the four on/off
# combinations, two rounds; llama-3-8b and llama-2-13b both off / both on; llama-2-7b in 2048 and
# bs 4 both off / both on.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for ne in 0 1; do for ey in 0 1; do
    LF_CUDA_NORM_EARLY=$ne LF_CUDA_GEMV_EARLY_Y=$ey b 7b_n${ne}y${ey}_r$r llama-2-7b --batch 1 --in 128 --out 128
  done; done
done
for on in 0 1; do
  LF_CUDA_NORM_EARLY=$on LF_CUDA_GEMV_EARLY_Y=$on b 8b_e$on llama-3-8b --batch 1 --in 128 --out 128
  LF_CUDA_NORM_EARLY=$on LF_CUDA_GEMV_EARLY_Y=$on b 13b_e$on llama-2-13b --batch 1 --in 128 --out 128
  LF_CUDA_NORM_EARLY=$on LF_CUDA_GEMV_EARLY_Y=$on b 7b_in2048_e$on llama-2-7b --batch 1 --in 2048 --out 128
  LF_CUDA_NORM_EARLY=$on LF_CUDA_GEMV_EARLY_Y=$on b 7b_b4_e$on llama-2-7b --batch 4 --in 128 --out 128
done
for on in 0 1; do
  LF_CUDA_NORM_EARLY=$on LF_CUDA_GEMV_EARLY_Y=$on b 8b_e${on}_r2 llama-3-8b --batch 1 --in 128 --out 128
  LF_CUDA_NORM_EARLY=$on LF_CUDA_GEMV_EARLY_Y=$on b 13b_e${on}_r2 llama-2-13b --batch 1 --in 128 --out 128
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
