#!/usr/bin/env bash
# gpu_session17i.sh — one nvidia-h200-x2 call: the residual all-reduce pushed by o_proj's and
# down's own GEMVs and summed by the next norm (lf_cuda_rmsnorm_pushed; no all-reduce kernels in
# small decode steps). test_tp for llama-2-13b at TP 2 in fp16 and bf16 (greedy identity against
# TP 1, logits, TPOT ratio), then `linfer bench --tp 2` with LF_CUDA_AR_PUSH=0 (the one-shot
# all-reduce kernel, as before) and =1 (the default) alternating: bs 1 three rounds, bs 4 one;
# llama-2-7b on one GPU (the GEMVs' plain path, against 17g/17h).
# NOT RUNNABLE AT HEAD: it ran on d00d1ff + the first version of
# docs/results/h200x2-2026-11-21-s17k/gemv_push_allreduce.patch (17k's is the last); slower,
# reverted (docs/perf-notes.md, session 17).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 240 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp f16 rc=$?"
grep -E "^TP" "$OUT/test_tp_f16.log" | head -8
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype bf16 --no-speed > "$OUT/test_tp_bf16.log" 2>&1; echo "test_tp bf16 rc=$?"
grep -E "^TP" "$OUT/test_tp_bf16.log" | head -4
echo "t=$(( $(date +%s) - t0 )) s"
CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b tp1: /"
timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1.json" 2>&1 | grep -E "^fp16" | sed "s/^/13b tp1: /"
for rep in 1 2 3; do for p in 0 1; do
  LF_CUDA_AR_PUSH=$p timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp2_push${p}_r$rep.json" > "$OUT/bench_13b_tp2_push${p}_r$rep.log" 2>&1
  echo "rc=$? $(grep -E '^fp16' "$OUT/bench_13b_tp2_push${p}_r$rep.log" | sed "s/^/13b tp2 push$p r$rep: /")"
done; done
for p in 0 1; do
  LF_CUDA_AR_PUSH=$p timeout 150 $R $L bench -m llama-2-13b --tp 2 --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_tp2_b4_push$p.json" 2>&1 | grep -E "^fp16" | sed "s/^/13b tp2 b4 push$p: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
