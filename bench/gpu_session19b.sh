#!/usr/bin/env bash
# gpu_session19b.sh — one nvidia-h200-x4 call: the FFMA GEMV with the SwiGLU epilogue as a tuning
# candidate for gate/up ("ffma+swiglu"). test_cuda_kernels (its check against the CPU and bit for
# bit against the FFMA GEMV + activation kernel); calibrate --no-nccl (the ceilings of this run);
# the per-layer choices at TP 1, 2 and 4 (LF_CUDA_TUNE_VERBOSE); `linfer bench` llama-2-13b bs 1
# in 128 out 128 at TP 1 and --tp 2,4, three rounds (medians), bs 4 once; test_tp --tp 2,4 fp16
# (the fast mode's identity and the TPOT ratios).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
export LF_ONESHOT_TIMEOUT_S=30
{
t0=$(date +%s)
dev_kernel_tests
grep -E "ffma\+swiglu|gemv_swiglu" "$OUT/kernels.log" | cut -c1-150
dev_calibrate
for tp in 1 2 4; do
  LF_CUDA_TUNE_VERBOSE=1 timeout 120 $R $L generate -m llama-2-13b --tp $tp --in 128 -n 8 > "$OUT/tune_tp$tp.log" 2>&1; echo "tune tp$tp rc=$?"
  grep -A6 "linear layers at 1 row " "$OUT/tune_tp$tp.log" | grep -E "gate_up" | head -2 | cut -c1-200; grep "decode step at 1 row" "$OUT/tune_tp$tp.log" | head -2
done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2 3; do
  timeout 120 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_tp1_r$rep.json" > "$OUT/bench_13b_tp1_r$rep.log" 2>&1
  timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 1 --in 128 --out 128 --json "$OUT/bench_13b_r$rep.json" > "$OUT/bench_13b_r$rep.log" 2>&1
  echo "rc=$? r$rep: tp1 $(grep -E '^fp16' "$OUT/bench_13b_tp1_r$rep.log" | awk '{print $8}') tp2,4 $(grep -E '^fp16' "$OUT/bench_13b_r$rep.log" | awk '{print $8}' | tr '\n' ' ')"
done
timeout 120 $R $L bench -m llama-2-13b --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_b4_tp1.json" > "$OUT/bench_13b_b4_tp1.log" 2>&1
timeout 200 $R $L bench -m llama-2-13b --tp 2,4 --batch 4 --in 128 --out 64 --json "$OUT/bench_13b_b4.json" > "$OUT/bench_13b_b4.log" 2>&1
echo "rc=$? b4: tp1 $(grep -E '^fp16' "$OUT/bench_13b_b4_tp1.log" | awk '{print $8}') tp2,4 $(grep -E '^fp16' "$OUT/bench_13b_b4.log" | awk '{print $8}' | tr '\n' ' ')"
timeout 150 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp f16 rc=$?"
grep -E "^TP" "$OUT/test_tp_f16.log" | grep -E "TPOT|greedy" | cut -c1-200
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
