#!/usr/bin/env bash
# gpu_session25d.sh — one nvidia-h200 call, session 25's tree: the GQA decode kernel under its
# measured rule (context >= 2048 or tokens x context >= 4096). Kernel tests; compute-sanitizer
# memcheck and racecheck over the quick kernel tests; CUDA-vs-CPU greedy at llama-2-7b and
# llama-3-8b; calibrate; llama-3-8b whole steps with the kernel on (the default) and off,
# alternating; the bench sweep batch 1, 8, 32 x in 128, 2048 on and off (roofline beside it).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
K=build-dev/tests/cuda/test_cuda_kernels
for tool in memcheck racecheck; do
  extra=""; [ $tool = memcheck ] && extra="--leak-check no"
  timeout 200 $R compute-sanitizer --tool $tool $extra --error-exitcode 99 $K --quick > "$OUT/sanitize_$tool.log" 2>&1
  echo "$tool rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitize_$tool.log" | tail -1) | $(grep -E 'checks, .* failed' "$OUT/sanitize_$tool.log" | tail -1)"
  grep -E "gqa" "$OUT/sanitize_$tool.log" | head -3
done
dev_vs_cpu
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-3-8b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_8b.log" 2>&1; echo "vs_cpu 8b rc=$? $(tail -1 "$OUT/vs_cpu_8b.log")"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do
  for g in 1 0; do
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in128_g${g}_r$r llama-3-8b --batch 1 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_in2048_g${g}_r$r llama-3-8b --batch 1 --in 2048 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b8_in2048_g${g}_r$r llama-3-8b --batch 8 --in 2048 --out 32
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_g${g}_r$r llama-3-8b --batch 32 --in 128 --out 64
    LF_CUDA_ATTN_GQA=$g dev_bench 8b_b32_in2048_g${g}_r$r llama-3-8b --batch 32 --in 2048 --out 32
  done
done
for g in 1 0; do
  LF_CUDA_ATTN_GQA=$g timeout 240 $R $L bench -m llama-3-8b --batch 1,8,32,64 --in 128,2048 --out 32 --warmup 1 --reps 3 \
    --json "$OUT/sweep_g$g.json" > "$OUT/sweep_g$g.log" 2>&1; echo "sweep gqa=$g rc=$?"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
