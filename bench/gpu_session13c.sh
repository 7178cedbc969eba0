#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13c.sh — one nvidia-h200 call: the skinny GEMM's warps on equal contiguous K ranges
# (LF_CUDA_GEMV_BALANCED=0: the round-robin pieces) and the fused RoPE with its angles shared by
# q and k and k rotated only in the split that holds the new position. Kernel tests and
# CUDA-vs-CPU first; lab_gemv balanced vs round-robin; llama-2-7b TPOT at in 128 and 2048 for
# round-robin / balanced / balanced without the fused RoPE (alternated, three rounds), llama-3-8b
# and llama-2-13b, a profile.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
cp /tmp/bins/lab_gemv build-dev/lab/ 2>/dev/null || { mkdir -p build-dev/lab && cp /tmp/bins/lab_gemv build-dev/lab/; }
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "rc=$?"; tail -1 "$OUT/kernels.log"; grep -c "FAIL" "$OUT/kernels.log"
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_7b.log" 2>&1; echo "vs_cpu rc=$?"; tail -1 "$OUT/vs_cpu_7b.log"
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; grep -E "HBM read" "$OUT/calibrate.txt"
for bal in 0 1; do
  LF_CUDA_GEMV_BALANCED=$bal $R build-dev/lab/lab_gemv --m 1,4 > "$OUT/lab_gemv_bal$bal.txt" 2>&1
  echo "== lab balanced=$bal"; grep -E "^(qkv|o_proj|gate_up|down|lm_head) +1 +mma" "$OUT/lab_gemv_bal$bal.txt"
done
for rep in 1 2 3; do
for v in rr bal nofuse; do
  case $v in rr) E="LF_CUDA_GEMV_BALANCED=0";; bal) E="LF_CUDA_GEMV_BALANCED=1";; nofuse) E="LF_CUDA_FUSE_ROPE=0";; esac
  echo "== $v (round $rep)"
  env $E $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_${v}_r$rep.json" 2>&1 | grep -E "^fp16"
done
done
for m in llama-3-8b llama-2-13b; do
for v in rr bal; do
  E=$([ $v = rr ] && echo LF_CUDA_GEMV_BALANCED=0 || echo LF_CUDA_GEMV_BALANCED=1)
  echo "== $m $v"; env $E $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_$v.json" 2>&1 | grep -E "^fp16"
done
done
echo "== batch 16, 32"
$R $L bench -m llama-2-7b --batch 16,32 --in 128 --out 128 --json "$OUT/bench_7b_bs.json" 2>&1 | grep -E "^fp16"
LF_CUDA_TUNE_VERBOSE=1 $R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1
echo "== profile"; grep -E "^TPOT|^decode_early" "$OUT/profile_7b.txt" | head -3
awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
} > "$OUT/c.log" 2>&1
cat "$OUT/c.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name c.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
