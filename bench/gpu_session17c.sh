#!/usr/bin/env bash
# gpu_session17c.sh — one nvidia-h200 call: upper bounds for issue 4's next steps. A temporary
# build (HEAD + docs/results/debug_skip_s17c.patch, NOT committed: LF_CUDA_DEBUG_SKIP=norm|attn
# leaves those kernels out of decode steps, so the tokens are wrong and only the timing means
# anything) measures what a step would save if the two RMSNorms, or the attention, cost nothing:
# llama-2-7b and llama-2-13b bs 1 in 128 out 128, three rounds, all variants in each round.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_calibrate
for rep in 1 2 3; do for m in llama-2-7b llama-2-13b; do for v in none norm attn norm,attn; do
  LF_CUDA_DEBUG_SKIP=$v $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_${v/,/_}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m skip=$v r$rep: /"
done; done; done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
