#!/usr/bin/env bash
# gpu_session12g.sh — one nvidia-h200-x4 call: the vocabulary-split embedding and lm_head under
# tensor parallelism (issue 5). Kernel tests (the split embedding against the CPU), then
# tests/cuda/test_tp at TP 2 and 4 (8 prompts x 32 greedy steps, logits, TPOT at bs 1) with the
# split (default) and without it (LF_CUDA_VOCAB_SPLIT=0), the kernels fixed (LF_CUDA_TUNE=0) so
# that only the split differs.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
T=build-dev/tests/cuda/test_tp
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels 2>&1 | grep -E "embed|checks"
for vs in 1 0; do
  echo "== LF_CUDA_VOCAB_SPLIT=$vs"
  LF_CUDA_VOCAB_SPLIT=$vs LF_CUDA_TUNE=0 timeout 100 $R $T --model llama-2-13b --tp 2,4 --dtype f16 --steps 32 2>&1 | grep -E "^TP|test_tp"
done
} > "$OUT/g.log" 2>&1
cat "$OUT/g.log"
