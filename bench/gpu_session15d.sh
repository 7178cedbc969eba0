#!/usr/bin/env bash
# Needs the uncommitted fused-norm tree of this call (LF_CUDA_FUSE_NORM, lf_cuda_gemv_mma_norm): a
# negative result, not kept (docs/performance.md, session 15).
# gpu_session15d.sh — one nvidia-h200-x4 call: the RMSNorms fused into the QKV and gate/up skinny
# GEMMs (LF_CUDA_FUSE_NORM=0 off). Kernel tests (fused = norm kernel + GEMM bit for bit),
# CUDA-vs-CPU; llama-2-7b (in 128, 2048), llama-3-8b, llama-2-13b TPOT fused / not, three rounds on
# GPU 0; test_tp for llama-2-13b at TP 2 and 4 (fp16); `linfer bench --tp 1,2,4` two rounds fused,
# one not; calibrate for the predictions.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log") $(grep -c 'RMSNorm fused.*ok' "$OUT/kernels.log") fused-norm checks ok"
grep FAIL "$OUT/kernels.log" | head -3
dev_vs_cpu
dev_calibrate
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2 3; do
for f in 1 0; do
  LF_CUDA_FUSE_NORM=$f $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_7b_n${f}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b norm $f r$rep: /"
  for m in llama-3-8b llama-2-13b; do
    LF_CUDA_FUSE_NORM=$f $R $L bench -m $m --batch 1 --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_${m}_n${f}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m norm $f r$rep: /"
  done
done
done
echo "t=$(( $(date +%s) - t0 )) s"
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP|all-reduce|linfer" "$OUT/test_tp_f16.log"
for rep in 1 2; do
  echo "== 13b tp 1,2,4 fused (round $rep)"
  timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_tp_r$rep.json" 2>&1 | grep -E "^fp16|rror"
done
echo "== 13b tp 1,2,4 not fused"
LF_CUDA_FUSE_NORM=0 timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_tp_n0.json" 2>&1 | grep -E "^fp16|rror"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/d.log" 2>&1
cat "$OUT/d.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name d.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
