#!/usr/bin/env bash
# gpu_session20e.sh — one nvidia-h200 call: the split at 2 blocks per SM is now the default; heads
# per block for unsplit decode attention (LF_ATTN_HEADS_PER_BLOCK: a block takes 2 or 4 heads one
# after the other). Kernel tests (hpb bit for bit against one head per block), the lab at bs 8 /
# 32 / 64, llama-2-7b bench A/B at bs 32 and bs 128 in 128 (hpb 1 / 2 / 4, two rounds), bs 1 in 2048
# once (the new split default).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "heads per block" "$OUT/kernels.log" | head -2 | cut -c1-160; grep -c "heads per block.*ok" "$OUT/kernels.log"
timeout 150 $R /tmp/bins/lab_attention --model llama-2-7b --ctx 128,512,2048 --batch 8,32,64 --variants default,hpb2,hpb4 > "$OUT/lab_attn.txt" 2>&1; echo "lab rc=$?"
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
b in2048 llama-2-7b --batch 1 --in 2048 --out 128
for r in 1 2; do
  for h in 1 2 4; do
    LF_ATTN_HEADS_PER_BLOCK=$h b b32_hpb${h}_r$r llama-2-7b --batch 32 --in 128 --out 128
  done
done
for h in 1 2 4; do
  LF_ATTN_HEADS_PER_BLOCK=$h b b128_hpb${h} llama-2-7b --batch 128 --in 128 --out 64
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
grep -v "^#" "$OUT/lab_attn.txt" | cut -c1-90
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
