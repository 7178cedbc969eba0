#!/usr/bin/env bash
# gpu_session16d.sh — one nvidia-h200-x4 call: session 16's tree (skinny GEMM with its weight and
# token loads in separate batches and its first weights before the PDL wait, FFMA GEMV with 8 loads
# in flight as a candidate, the linear-layer choice checked on whole steps, SwiGLU fused in the
# roofline's decode). Kernel tests (early loads on, and off with --quick); calibrate; test_tp for
# llama-2-13b at TP 2 and 4 (fp16 with speed, bf16 identity); `bench --tp 1,2,4` two rounds and one
# with LF_CUDA_GEMV_EARLY=0; the issue 3 / 4 points (llama-2-7b in 128 and 2048 three rounds,
# llama-3-8b and llama-2-13b two); compute-sanitizer last.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
LF_CUDA_GEMV_EARLY=0 $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/kernels_early0.log" 2>&1; echo "kernels (early off) rc=$? $(tail -1 "$OUT/kernels_early0.log")"
dev_calibrate
for rep in 1 2 3; do
  LF_CUDA_TUNE_VERBOSE=1 $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 --json "$OUT/bench_7b_r$rep.json" > "$OUT/bench_7b_r$rep.log" 2>&1; grep -E "^fp16" "$OUT/bench_7b_r$rep.log" | sed "s/^/7b r$rep: /"
done
for rep in 1 2; do for m in llama-3-8b llama-2-13b; do
  $R $L bench -m $m --batch 1 --in 128 --out 128 --json "$OUT/bench_${m}_r$rep.json" 2>&1 | grep -E "^fp16" | sed "s/^/$m r$rep: /"
done; done
echo "t=$(( $(date +%s) - t0 )) s"
for dt in f16 bf16; do
  echo "== test_tp 13b $dt"
  S=$([ $dt = bf16 ] && echo --no-speed)
  timeout 150 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype $dt $S > "$OUT/test_tp_$dt.log" 2>&1; echo "test_tp rc=$?"
  grep -E "^TP|all-reduce|linfer" "$OUT/test_tp_$dt.log" | head -12
done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do
  echo "== 13b tp 1,2,4 (round $rep)"
  LF_CUDA_TUNE_VERBOSE=1 timeout 150 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_r$rep.json" > "$OUT/bench_13b_r$rep.log" 2>&1; grep -E "^fp16|rror" "$OUT/bench_13b_r$rep.log"
done
echo "== 13b tp 1,2,4, early loads off"
LF_CUDA_GEMV_EARLY=0 timeout 150 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_e0.json" 2>&1 | grep -E "^fp16|rror"
echo "t=$(( $(date +%s) - t0 )) s"
grep -hE "^  [a-z_]+ +->|decode step at" "$OUT/bench_13b_r1.log" | sort | uniq -c | head -30
grep -hE "^  [a-z_]+ +->|decode step at" "$OUT/bench_7b_r1.log" | head -8
echo "== sanitizer"
OUT=$OUT/san bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/d.log" 2>&1
cat "$OUT/d.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name d.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
