#!/usr/bin/env bash
# gpu_session14a.sh — one nvidia-h200 call (issues 3 and 4): kernel tests (with the skinny GEMM's
# rolling L2 prefetch bit-for-bit against none) and compute-sanitizer; `linfer calibrate` with the
# new kernel-chain curve; lab_gemv over prefetch distances 0, 1, 2, 4; llama-2-7b TPOT at in 128
# and 2048 for LF_CUDA_GEMV_PF = 0 / 2 / 4 alternated over two rounds (the roofline's prediction in
# each JSON now uses the chain curve); llama-2-13b and llama-3-8b at 0 and 4.
# (A record: the rolling prefetch, LF_CUDA_GEMV_PF and lab_gemv --pf, was removed after this run.)
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
mkdir -p build-dev/lab && cp /tmp/bins/lab_gemv build-dev/lab/
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "rc=$?"; tail -1 "$OUT/kernels.log"; grep -E "FAIL" "$OUT/kernels.log" | head -5
dev_vs_cpu
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; echo "calibrate rc=$?"; grep -E "HBM read|graph|chain" "$OUT/calibrate.txt"
cp "$HOME/.cache/linfer/calibration.txt" "$OUT/calibration_cache.txt" 2>/dev/null
$R build-dev/lab/lab_gemv --m 1,4 --pf 0,1,2,4 > "$OUT/lab_gemv_pf.txt" 2>&1
echo "== lab (M 1)"; grep -E "^(qkv|o_proj|gate_up|down|lm_head) +1 +(mma4|mma8|swiglu|cublas)" "$OUT/lab_gemv_pf.txt"; tail -1 "$OUT/lab_gemv_pf.txt"
for rep in 1 2; do
for pf in 0 2 4; do
  echo "== pf $pf (round $rep)"
  LF_CUDA_GEMV_PF=$pf $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_pf${pf}_r$rep.json" 2>&1 | grep -E "^fp16"
done
done
for m in llama-2-13b llama-3-8b; do
for pf in 0 4; do
  echo "== $m pf $pf"; LF_CUDA_GEMV_PF=$pf $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_pf$pf.json" 2>&1 | grep -E "^fp16"
done
done
echo "== sanitizer"
OUT=$OUT/san bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
} > "$OUT/a.log" 2>&1
cat "$OUT/a.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name a.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
