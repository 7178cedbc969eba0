#!/usr/bin/env bash
# gpu_session15c.sh — one nvidia-h200-x4 call: session 15's tree (decode attention splits merged in
# a cluster, loads before the PDL wait, no GEMV L2 prefetch) on four H200s. Kernel tests and
# compute-sanitizer (memcheck, racecheck) on GPU 0; test_tp for llama-2-13b at TP 2 and 4 (fp16
# with speed, bf16 identity only); `linfer bench --tp 1,2,4` two rounds; llama-2-7b single-GPU
# cluster merge on / off (LF_CUDA_ATTN_CLUSTER=0), three rounds; calibrate for the predictions.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_calibrate
for dt in f16 bf16; do
  echo "== test_tp 13b $dt"
  S=$([ $dt = bf16 ] && echo --no-speed)
  timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype $dt $S > "$OUT/test_tp_$dt.log" 2>&1; echo "test_tp rc=$?"
  grep -E "^TP|all-reduce|linfer" "$OUT/test_tp_$dt.log"
done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do
  echo "== 13b tp 1,2,4 (round $rep)"
  timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_r$rep.json" 2>&1 | grep -E "^fp16|rror"
done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2 3; do
for c in 1 0; do
  LF_CUDA_ATTN_CLUSTER=$c $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_7b_cl${c}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/7b cluster $c r$rep: /"
done
done
echo "t=$(( $(date +%s) - t0 )) s"
echo "== sanitizer"
OUT=$OUT/san bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/c.log" 2>&1
cat "$OUT/c.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name c.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
