#!/usr/bin/env bash
# gpu_session2.sh — one device call: issue-2 speed points with warm-ups and medians, and a
# bisection of the CUDA fp16 error against HF float32 by attention kernel (LF_CUDA_ATTN_MMA) and
# GEMV path (LF_CUDA_GEMV). Needs build-dev/ and .peers/ carried; logs in $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
G="build-dev/linfer generate --device cuda"
{
  echo "7b fp16 in128 out128:";  run $G -m llama-2-7b --in 128 -n 128 --warmup 1 --reps 5 | tail -2
  echo "7b fp16 in2048 out2:";   run $G -m llama-2-7b --in 2048 -n 2 --warmup 2 --reps 5 | tail -2
  echo "7b fp16 in2048 out128:"; run $G -m llama-2-7b --in 2048 -n 128 --warmup 1 --reps 3 | tail -2
  echo "7b bf16 in128 out128:";  run $G -m llama-2-7b --dtype bf16 --in 128 -n 128 --warmup 1 --reps 3 | tail -2
  echo "7b fp16 bs32 in128 out64:";  run $G -m llama-2-7b --batch 32 --in 128 -n 64 --warmup 1 --reps 3 | tail -2
  echo "7b fp16 bs128 in128 out32:"; run $G -m llama-2-7b --batch 128 --in 128 -n 32 --warmup 1 --reps 3 | tail -2
  echo "8b fp16 in128 out128:";  run $G -m llama-3-8b --in 128 -n 128 --warmup 1 --reps 3 | tail -2
  echo "13b fp16 in128 out128:"; run $G -m llama-2-13b --in 128 -n 128 --warmup 1 --reps 3 | tail -2
} 2>&1 | tee "$OUT/bench2.log"
PYTHONUNBUFFERED=1 timeout 200 python3 tools/hf_device_golden.py /tmp/hfg 7b > "$OUT/hf_golden.log" 2>&1; tail -1 "$OUT/hf_golden.log"
{
for mma in 2 1 0; do
  echo "== LF_CUDA_ATTN_MMA=$mma"; LF_CUDA_ATTN_MMA=$mma run build-dev/tests/cuda/test_hf_device /tmp/hfg/7b /tmp/hfg/7b-fp16.json fp16 | grep -v "^   \|^== 20"
done
echo "== LF_CUDA_GEMV=0"; LF_CUDA_GEMV=0 run build-dev/tests/cuda/test_hf_device /tmp/hfg/7b /tmp/hfg/7b-fp16.json fp16 | grep -E "summary"
} 2>&1 | tee "$OUT/bisect.log"
echo "== HF static cache + torch.compile side by side (7b fp16)"
timeout 240 python3 .peers/hf_bench.py /tmp/hfg/7b --compile --points 1:128:128 2>&1 | grep '^{' | tee "$OUT/hf_compile.log"
