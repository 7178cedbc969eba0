#!/usr/bin/env bash
# gpu_session14f.sh — one nvidia-h200 call (issue 4): RoPE fused into the decode attention again,
# its rotation now with explicit roundings shared with the RoPE kernel. Kernel tests (fused vs RoPE
# kernel + attention bit for bit, outputs and caches) four times, with the three seeds that broke
# session 13's version (the data they draw differs now: the test changed), and CUDA-vs-CPU; llama-2-7b TPOT at in 128 and 2048 fused / not fused
# (LF_CUDA_FUSE_ROPE=0) over two rounds; llama-2-13b and llama-3-8b one round; a per-op profile of
# llama-2-7b against the chain-curve roofline; compute-sanitizer.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "rc=$?"; tail -1 "$OUT/kernels.log"; grep -E "FAIL" "$OUT/kernels.log" | head -5
for seed in 76720220414 74314787074 93976635870; do
  LF_TEST_SEED=$seed $R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels_seed$seed.log" 2>&1
  echo "seed $seed rc=$? $(tail -1 "$OUT/kernels_seed$seed.log") $(grep -c 'RoPE.*ok' "$OUT/kernels_seed$seed.log") fused-RoPE checks ok"
done
dev_vs_cpu
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; echo "calibrate rc=$?"; grep -E "HBM read|16 MiB" "$OUT/calibrate.txt"
for rep in 1 2; do
for f in 1 0; do
  echo "== fuse $f (round $rep)"
  LF_CUDA_FUSE_ROPE=$f $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_fuse${f}_r$rep.json" 2>&1 | grep -E "^fp16"
done
done
for m in llama-2-13b llama-3-8b; do
for f in 1 0; do
  echo "== $m fuse $f"; LF_CUDA_FUSE_ROPE=$f $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_fuse$f.json" 2>&1 | grep -E "^fp16"
done
done
echo "== batch 16"
$R $L bench -m llama-2-7b --batch 16 --in 128 --out 128 --json "$OUT/bench_7b_bs16.json" 2>&1 | grep -E "^fp16"
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1; echo "profile rc=$?"
awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up|norm|rope|activation|lm_head)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
echo "== sanitizer"
OUT=$OUT/san bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
