#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13d.sh — one nvidia-h200 call: the linear-layer timing now also tries the skinny
# GEMM with round-robin K pieces (mmaW/rr) beside the balanced ranges. Kernel and CUDA-vs-CPU
# tests; calibrate; llama-2-7b, llama-3-8b, llama-2-13b TPOT with the round-robin candidates
# off (LF_CUDA_GEMV_RR=0) and on, alternated, two rounds, with the timing table printed; the
# llama-2-7b batch sweep and in 2048; a profile; compute-sanitizer.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"; tail -1 "$OUT/kernels.log"
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_7b.log" 2>&1; echo "vs_cpu rc=$?"; tail -1 "$OUT/vs_cpu_7b.log"
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; grep -E "HBM read|GEMM fp16 " "$OUT/calibrate.txt"
for rep in 1 2; do
for m in llama-2-7b llama-3-8b llama-2-13b; do
for rr in 0 1; do
  echo "== $m rr=$rr (round $rep)"
  LF_CUDA_GEMV_RR=$rr LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_rr${rr}_r$rep.json" > "$OUT/bench_${m}_rr${rr}_r$rep.txt" 2>&1
  grep -E "^fp16" "$OUT/bench_${m}_rr${rr}_r$rep.txt"
  [ $rep = 1 ] && grep -E "^  (qkv|o_proj|gate_up|down|lm_head) " "$OUT/bench_${m}_rr${rr}_r$rep.txt" | awk '{print "   ", $1, $2}' | tr '\n' ' ' && echo
done
done
done
echo "== llama-2-7b batch 1,4,16,32 in 128; batch 1 in 2048"
$R $L bench -m llama-2-7b --batch 1,4,16,32 --in 128 --out 128 --json "$OUT/bench_7b_bs.json" 2>&1 | grep -E "^fp16"
$R $L bench -m llama-2-7b --batch 1 --in 2048 --out 128 --json "$OUT/bench_7b_2048.json" 2>&1 | grep -E "^fp16"
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1
echo "== profile"; grep -E "^TPOT|^decode_early" "$OUT/profile_7b.txt" | head -3
awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|gate_up|norm|sampling|rope)/{print} /^decode_late/{f=0}' "$OUT/profile_7b.txt"
echo "== sanitize"
timeout 200 bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
} > "$OUT/d.log" 2>&1
cat "$OUT/d.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name d.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
