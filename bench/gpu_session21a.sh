#!/usr/bin/env bash
# gpu_session21a.sh — one nvidia-h200 call: the RMSNorm folded into the FFMA GEMVs of qkv and
# gate/up (lf_cuda_gemv_ffma_norm; LF_CUDA_FUSE_NORM=0 off, 1 the whole-step check decides, 2
# always where it applies). Kernel tests (gemv_norm against the CPU), CUDA-vs-CPU greedy with the
# fold forced, the step check's two medians at one row (7B, 8B, 13B), then bench A/B at bs 1 in 128:
# llama-2-7b off / forced, two rounds alternating; llama-3-8b and llama-2-13b one round each.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "gemv_norm" "$OUT/kernels.log" | head -12 | cut -c1-150
LF_CUDA_FUSE_NORM=2 dev_vs_cpu
for m in llama-2-7b llama-3-8b llama-2-13b; do
  LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m $m --batch 1 --in 128 -n 8 > "$OUT/tune_$m.log" 2>&1; echo "tune $m rc=$?"
  grep -E "^  (qkv|gate_up) |norm kernels|decode step" "$OUT/tune_$m.log" | cut -c1-200
done
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for fn in 0 2; do LF_CUDA_FUSE_NORM=$fn b 7b_fn${fn}_r$r llama-2-7b --batch 1 --in 128 --out 128; done
done
for fn in 0 2; do
  LF_CUDA_FUSE_NORM=$fn b 8b_fn$fn llama-3-8b --batch 1 --in 128 --out 128
  LF_CUDA_FUSE_NORM=$fn b 13b_fn$fn llama-2-13b --batch 1 --in 128 --out 128
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
