#!/usr/bin/env bash
# gpu_session19d.sh — one nvidia-h200-x4 call: ffma8+swiglu (the SwiGLU-epilogue FFMA GEMV with 8
# loads in flight per lane and row) as a further gate/up candidate. Kernel tests on GPU 0, the
# per-layer choice at 7B, `linfer bench` llama-2-7b bs 1 in 128 three rounds with and without the
# new candidate (LF_CUDA_IMPL=gate_up:ffma+swiglu forces 19c's choice), llama-2-13b at TP 1 and
# --tp 2,4 two rounds.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
export LF_ONESHOT_TIMEOUT_S=30
{
t0=$(date +%s)
CUDA_VISIBLE_DEVICES=0 dev_kernel_tests
grep -E "ffma8\+swiglu|unroll 8" "$OUT/kernels.log" | head -4 | cut -c1-150
CUDA_VISIBLE_DEVICES=0 dev_calibrate
CUDA_VISIBLE_DEVICES=0 LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-7b --in 128 -n 8 > "$OUT/tune_7b.log" 2>&1; echo "tune 7b rc=$?"
grep -A6 "linear layers at 1 row " "$OUT/tune_7b.log" | grep -E "gate_up" | cut -c1-220; grep "decode step at 1 row" "$OUT/tune_7b.log"
for r in 1 2 3; do
  CUDA_VISIBLE_DEVICES=0 timeout 120 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_r$r.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b new r$r: /"
  CUDA_VISIBLE_DEVICES=0 LF_CUDA_IMPL=gate_up:ffma+swiglu timeout 120 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --json "$OUT/bench_7b_old_r$r.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b old r$r: /"
done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do
  timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1_r$rep.json" > "$OUT/bench_13b_tp1_r$rep.log" 2>&1
  timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_r$rep.json" > "$OUT/bench_13b_r$rep.log" 2>&1
  echo "rc=$? r$rep: tp1 $(grep -E '^fp16' "$OUT/bench_13b_tp1_r$rep.log" | awk '{print $8}') tp2,4 $(grep -E '^fp16' "$OUT/bench_13b_r$rep.log" | awk '{print $8}' | tr '\n' ' ')"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
