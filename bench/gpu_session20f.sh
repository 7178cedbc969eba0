#!/usr/bin/env bash
# gpu_session20f.sh — one nvidia-h200 call: the decode attention's split at bs 1-8 swept in the lab
# (blocks per SM 1 / 2 / 3, units of 64 / 128 / 256 / 512 positions) and the two likeliest settings
# against the default in whole llama-2-7b steps (LF_ATTN_BLOCKS_PER_SM=1, LF_ATTN_GRAIN=128;
# alternating, two rounds; bs 1 in 128 / 512 / 2048). Kernel tests first (the cluster tests now
# pin 4 blocks per SM).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
timeout 200 $R /tmp/bins/lab_attention --model llama-2-7b --ctx 128,192,256,512,1024,2048,4096 --batch 1 \
  --variants default,bps1,bps3,grain128,grain256,grain512,bps1+grain128,bps3+grain128 > "$OUT/lab_attn_b1.txt" 2>&1; echo "lab b1 rc=$?"
timeout 100 $R /tmp/bins/lab_attention --model llama-2-7b --ctx 512,2048 --batch 4,8 \
  --variants default,bps1,bps3,grain128 > "$OUT/lab_attn_b4.txt" 2>&1; echo "lab b4 rc=$?"
echo "t=$(( $(date +%s) - t0 )) s"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for v in def bps1 g128; do
    unset LF_ATTN_BLOCKS_PER_SM LF_ATTN_GRAIN
    case $v in bps1) export LF_ATTN_BLOCKS_PER_SM=1;; g128) export LF_ATTN_GRAIN=128;; esac
    for n in 128 512 2048; do b in${n}_${v}_r$r llama-2-7b --batch 1 --in $n --out 128; done
  done
done
unset LF_ATTN_BLOCKS_PER_SM LF_ATTN_GRAIN
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
grep -v "^#" "$OUT/lab_attn_b1.txt" "$OUT/lab_attn_b4.txt" | cut -c1-100
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
