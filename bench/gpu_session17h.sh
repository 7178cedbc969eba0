#!/usr/bin/env bash
# gpu_session17h.sh — one nvidia-h200-x4 call on the session-17 tree (the attention's split unit one
# decode-kernel chunk: 64 positions at head_dim 128). Kernel tests and CUDA-vs-CPU greedy on GPU 0,
# calibrate, llama-2-7b bs 1 in 128 (two rounds, and one with the old 32-position unit), test_tp for
# llama-2-13b at TP 2 and 4 (fp16 greedy identity, logits, TPOT ratios), then
# `linfer bench -m llama-2-13b --tp 1,2,4` with the new unit and the old (LF_ATTN_GRAIN=32).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
CUDA_VISIBLE_DEVICES=0 $R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log")"
grep -E "FAIL" "$OUT/kernels.log" | head -5
CUDA_VISIBLE_DEVICES=0 dev_vs_cpu
CUDA_VISIBLE_DEVICES=0 dev_calibrate
for v in new32:32 new:0 new2:0; do n=${v%%:*}; g=${v##*:}; [ "$g" = 0 ] && g=
  CUDA_VISIBLE_DEVICES=0 LF_ATTN_GRAIN=$g $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_$n.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b $n: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype f16 > "$OUT/test_tp.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP" "$OUT/test_tp.log" | head -10
for g in 0 32; do gg=$g; [ "$g" = 0 ] && gg=
  LF_ATTN_GRAIN=$gg timeout 300 $R $L bench -m llama-2-13b --tp 1,2,4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp_g$g.json" 2>&1 | grep -E "^fp16|^ *[124] " | sed "s/^/13b grain ${g/#0/chunk}: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
