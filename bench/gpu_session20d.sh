#!/usr/bin/env bash
# gpu_session20d.sh — one nvidia-h200 call: the decode attention's split aiming at 2 blocks per SM
# instead of 4 (LF_ATTN_BLOCKS_PER_SM=2; 20b/20c's lab: 19.2 against 21.0 µs at bs 1 in 2048, the
# same elsewhere) in whole llama-2-7b steps, alternating A/B, two rounds: bs 1 in 128 / 512 /
# 2048, bs 32 in 128. Then lab_gemv at 16 and 32 rows (at 32 only cuBLAS applies).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 120 $R /tmp/bins/lab_attention --model llama-2-7b --ctx 128,2048 --batch 1,8 --variants default,bps2,bps3 > "$OUT/lab_attn.txt" 2>&1; echo "lab rc=$?"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for p in 4 2; do
    LF_ATTN_BLOCKS_PER_SM=$p b in128_bps${p}_r$r llama-2-7b --batch 1 --in 128 --out 128
    LF_ATTN_BLOCKS_PER_SM=$p b in512_bps${p}_r$r llama-2-7b --batch 1 --in 512 --out 128
    LF_ATTN_BLOCKS_PER_SM=$p b in2048_bps${p}_r$r llama-2-7b --batch 1 --in 2048 --out 128
    LF_ATTN_BLOCKS_PER_SM=$p b b32_bps${p}_r$r llama-2-7b --batch 32 --in 128 --out 128
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
timeout 150 $R /tmp/bins/lab_gemv --model llama-2-7b --m 16,32 > "$OUT/lab_gemv.txt" 2>&1; echo "lab_gemv rc=$?"
grep -E "^(qkv|o_proj|gate_up|down|lm_head)" "$OUT/lab_gemv.txt" | grep -E " (16|32) " | cut -c1-80
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
grep -v "^#" "$OUT/lab_attn.txt" | cut -c1-90
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
