#!/usr/bin/env bash
# gpu_sampling.sh — sampling on the GPU (src/cuda/sampling.cu), one nvidia-h200 call; the session
# scripts bench/gpu_session23{a,b,c,d}.sh run it with their settings:
#   1. test_cuda_kernels (every kernel; the sampler against lf_sample_u at 32000, 128256 and 1001
#      entries, four kinds of logits, ten filter settings), CUDA-vs-CPU greedy; SANITIZE=1:
#      compute-sanitizer memcheck and racecheck over the sampler's checks (--sample --quick);
#   2. test_cuda_kernels --sample-bench (the sampler's time against the argmax's, 1/8/32 rows);
#   3. TPOT of `linfer generate -m llama-2-7b --in 128 -n 64 --ignore-eos --warmup 1 --reps 3`,
#      sampled on the GPU against --host-sampling, alternating, two rounds: B 32 top_k 40, B 32
#      top_p 0.9, B 1 top_k 40, llama-3-8b B 8 top_k 40; greedy for reference;
#   4. --print-ids of the two paths (B 32, 16 tokens, top_k 40 and top_p 0.9): rows that differ.
#      FIXED_CHOICE=1 (default) fixes the linear-layer choice (LF_CUDA_TUNE=0 LF_CUDA_LT=0): the
#      timed choice moves between runs, and with it the logits (23a ran without).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
echo "sampler checks: $(grep -c '^sample ' "$OUT/kernels.log") lines, $(grep '^sample ' "$OUT/kernels.log" | grep -c FAIL) failed, at a boundary: $(grep '^sample ' "$OUT/kernels.log" | grep -oE '[0-9]+ at a boundary' | awk '{s+=$1} END {print s+0}')"
dev_vs_cpu
[ "${SANITIZE:-0}" = 1 ] && for tool in memcheck racecheck; do
  timeout 300 $R compute-sanitizer --tool $tool --error-exitcode 99 build-dev/tests/cuda/test_cuda_kernels --sample --quick > "$OUT/sanitize_sample_$tool.log" 2>&1
  echo "sanitize $tool rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/sanitize_sample_$tool.log" | tail -1) $(grep -E 'checks, .* failed' "$OUT/sanitize_sample_$tool.log" | tail -1)"
done
$R build-dev/tests/cuda/test_cuda_kernels --sample-bench > "$OUT/sample_bench.log" 2>&1; echo "sample-bench rc=$?"
grep '^sample-bench' "$OUT/sample_bench.log"
g() { # TAG MODEL BATCH ARGS...
  local tag=$1 m=$2 bs=$3; shift 3
  timeout 200 $R $L generate -m "$m" --batch "$bs" --in 128 -n 64 --ignore-eos --quiet --warmup 1 --reps 3 "$@" > "$OUT/gen_$tag.log" 2>&1
  echo "$tag rc=$? $(grep -E 'TPOT' "$OUT/gen_$tag.log" | tail -1 | grep -oE 'TTFT [0-9.]+ ms|TPOT [0-9.]+ ms' | tr '\n' ' ')"
}
K="--temperature 0.8 --top-k 40"; P="--temperature 0.8 --top-p 0.9"
for r in 1 2; do
  for v in gpu host; do h=""; [ $v = host ] && h=--host-sampling
    g 7b_b32_k40_${v}_r$r llama-2-7b 32 $K $h
    g 7b_b32_p90_${v}_r$r llama-2-7b 32 $P $h
    g 7b_b1_k40_${v}_r$r llama-2-7b 1 $K $h
    g 8b_b8_k40_${v}_r$r llama-3-8b 8 $K $h
  done
done
g 7b_b32_greedy llama-2-7b 32
g 7b_b1_greedy llama-2-7b 1
FIX="LF_CUDA_TUNE=0 LF_CUDA_LT=0"; [ "${FIXED_CHOICE:-1}" = 0 ] && FIX=""
for s in K P; do
  for v in gpu host; do h=""; [ $v = host ] && h=--host-sampling
    env $FIX timeout 200 $R $L generate -m llama-2-7b --batch 32 --in 128 -n 16 --ignore-eos --quiet --print-ids ${!s} $h > "$OUT/ids_${s}_$v.log" 2>&1
  done
  echo "ids $s: $(diff <(grep 'ids\[' "$OUT/ids_${s}_gpu.log") <(grep 'ids\[' "$OUT/ids_${s}_host.log") | grep -c '^<') of $(grep -c 'ids\[' "$OUT/ids_${s}_gpu.log") rows differ"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
