#!/usr/bin/env bash
# gpu_session20h.sh — one nvidia-h200 call: the GQA-aware decode attention (a block takes 4 or 2
# query heads of a KV group and reads its K and V rows once for them; LF_CUDA_ATTN_GQA=0 keeps one
# head per block). Kernel tests (GQA bit for bit against one head per block, and the CPU
# reference), the lab at llama-3-8b heads (and llama-2-13b / 7b heads, where it does not apply),
# llama-3-8b bench A/B (bs 1 in 128 and 2048, bs 32 in 128 and 2048), llama-2-7b bs 1 once.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "GQA heads per block" "$OUT/kernels.log" | head -2 | cut -c1-160; grep -c "GQA heads per block.* ok" "$OUT/kernels.log"
timeout 150 $R /tmp/bins/lab_attention --model llama-3-8b --ctx 128,512,2048,4096 --batch 1,8,32 --variants default,nogqa > "$OUT/lab_attn_8b.txt" 2>&1; echo "lab 8b rc=$?"
timeout 60 $R /tmp/bins/lab_attention --model llama-2-7b --ctx 128,2048 --batch 1,32 --variants default > "$OUT/lab_attn_7b.txt" 2>&1; echo "lab 7b rc=$?"
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for g in 1 0; do
    export LF_CUDA_ATTN_GQA=$g
    b 8b_in128_g${g}_r$r llama-3-8b --batch 1 --in 128 --out 128
    b 8b_in2048_g${g}_r$r llama-3-8b --batch 1 --in 2048 --out 128
    b 8b_b32_g${g}_r$r llama-3-8b --batch 32 --in 128 --out 128
    [ $r = 1 ] && b 8b_b32_in2048_g${g} llama-3-8b --batch 32 --in 2048 --out 64
  done
done
unset LF_CUDA_ATTN_GQA
b 7b_in128 llama-2-7b --batch 1 --in 128 --out 128
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
grep -v "^#" "$OUT/lab_attn_8b.txt" "$OUT/lab_attn_7b.txt" | grep -E "^\S+:\s+[0-9]" | sed 's/^[^:]*://' | cut -c1-90
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
