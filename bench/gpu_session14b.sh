#!/usr/bin/env bash
# gpu_session14b.sh — one nvidia-h200-x4 call (issues 5 and 3): test_tp for llama-2-13b at TP 2
# and 4 (greedy identity and logits against TP 1, TPOT, and the one-token decode all-reduce timed
# in a graph: one-shot push / pull / NCCL); `linfer calibrate` on GPU 0 with the kernel-chain
# curve (its read kernel no longer ends in one contended atomic); llama-2-7b on GPU 0 at in 128 and
# 2048 (the roofline's chain-curve prediction beside the measurement), two rounds;
# `linfer bench --tp 1,2,4` for llama-2-13b with the push kernel and `--tp 2,4` with the pull
# kernel (LF_CUDA_ONESHOT_LL=0); the all-reduce share per TP from `linfer profile --tp 1,2,4`.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
nvidia-smi --query-gpu=index,name,driver_version,clocks.sm --format=csv,noheader
$R $L calibrate --no-nccl > "$OUT/calibrate.txt" 2>&1; echo "calibrate rc=$?"; grep -E "HBM read|chain" "$OUT/calibrate.txt"
cp "$HOME/.cache/linfer/calibration.txt" "$OUT/calibration_cache.txt" 2>/dev/null
echo "== test_tp 13b"
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 > "$OUT/test_tp.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP|all-reduce" "$OUT/test_tp.log"
for rep in 1 2; do
  echo "== 7b (round $rep)"
  $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_r$rep.json" 2>&1 | grep -E "^fp16"
done
echo "== 13b tp 1,2,4 (push)"
timeout 240 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_tp_push.json" 2>&1 | grep -E "^fp16|rror"
echo "== 13b tp 2,4 (pull)"
LF_CUDA_ONESHOT_LL=0 timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 2,4 --json "$OUT/bench_13b_tp_pull.json" 2>&1 | grep -E "^fp16|rror"
echo "== profile 13b tp 1,2,4"
timeout 240 $R $L profile -m llama-2-13b --in 128 --out 64 --reps 2 --tp 1,2,4 --json "$OUT/prof13.json" > "$OUT/prof13.txt" 2>&1; echo "profile rc=$?"
tail -25 "$OUT/prof13.txt"
} > "$OUT/b.log" 2>&1
cat "$OUT/b.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name b.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
