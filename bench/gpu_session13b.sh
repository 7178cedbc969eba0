#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13b.sh — one nvidia-h200 call: RoPE fused into the decode attention kernel, the
# 1024-thread float4 argmax. Kernel tests (fused attention bit-identical to RoPE kernel +
# attention, caches included), CUDA-vs-CPU logits and batch consistency on llama-2-7b and
# smollm2-135m shapes (head_dim 128 and 64), calibrate, then llama-2-7b TPOT at in 128 and 2048:
# session 12's kernels / decode attention / + fused RoPE (alternated, two rounds), the other
# shapes of issue 4, a profile, and compute-sanitizer last.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "rc=$?"; tail -2 "$OUT/kernels.log"
grep -E "FAIL|attention\+rope|argmax" "$OUT/kernels.log" | head -12
echo "== CUDA vs CPU logits"
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_7b.log" 2>&1; echo "rc=$?"; tail -2 "$OUT/vs_cpu_7b.log"
$R build-dev/tests/cuda/test_cuda_vs_cpu smollm2-135m 4 bf16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_smollm2.log" 2>&1; echo "rc=$?"; tail -2 "$OUT/vs_cpu_smollm2.log"
echo "== calibrate"
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; grep -E "HBM read|GEMM fp16|graph" "$OUT/calibrate.txt"
for rep in 1 2; do
for v in s12 dec fused; do
  case $v in s12) E="LF_CUDA_ATTN_DECODE=0";; dec) E="LF_CUDA_FUSE_ROPE=0";; fused) E="LF_CUDA_FUSE_ROPE=1";; esac
  echo "== $v (round $rep)"
  env $E $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_${v}_r$rep.json" 2>&1 | grep -E "^fp16"
done
done
echo "== batch 4, 16, 32 (fused)"
$R $L bench -m llama-2-7b --batch 4,16,32 --in 128 --out 128 --json "$OUT/bench_7b_bs.json" 2>&1 | grep -E "^fp16"
echo "== llama-3-8b, llama-2-13b (fused)"
$R $L bench -m llama-3-8b --batch 1 --in 128 --out 128 --json "$OUT/bench_8b.json" 2>&1 | grep -E "^fp16"
$R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b.json" 2>&1 | grep -E "^fp16"
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1
echo "== profile"; grep -E "^TPOT|^decode_early" "$OUT/profile_7b.txt" | head -3
awk '/^decode_early/{f=1} f&&/^(attention|rope|sampling|norm|down_gemm)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
echo "== profile test"
$R build-dev/tests/cuda/test_profile_cuda > "$OUT/profile_test.log" 2>&1; echo "rc=$?"; tail -3 "$OUT/profile_test.log"
echo "== sanitize"
timeout 240 bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
} > "$OUT/b.log" 2>&1
cat "$OUT/b.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name b.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
