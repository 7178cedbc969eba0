#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13e.sh — one nvidia-h200 call, the final code of session 13 (RoPE fused into the
# decode attention for head_dim 64 and 128 only): kernel tests, CUDA-vs-CPU (llama-2-7b and
# smollm2-135m shapes), compute-sanitizer memcheck and racecheck, then calibrate and llama-2-7b
# bs 1 in 128 / in 2048 (three runs) for the roofline ratio.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"; tail -1 "$OUT/kernels.log"
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_7b.log" 2>&1; echo "vs_cpu 7b rc=$?"; tail -1 "$OUT/vs_cpu_7b.log"
$R build-dev/tests/cuda/test_cuda_vs_cpu smollm2-135m 4 bf16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_smollm2.log" 2>&1; echo "vs_cpu smollm2 rc=$?"; tail -1 "$OUT/vs_cpu_smollm2.log"
echo "== sanitize"
timeout 300 bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc=|checks"
grep -E "checks, " "$OUT"/sanitize_*.log
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; grep -E "HBM read|GEMM fp16 |kernel launch" "$OUT/calibrate.txt"
for rep in 1 2 3; do
  $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_r$rep.json" 2>&1 | grep -E "^fp16"
done
} > "$OUT/e.log" 2>&1
cat "$OUT/e.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name e.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
