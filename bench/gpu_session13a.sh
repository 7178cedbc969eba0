#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13a.sh — one nvidia-h200 call: the decode attention kernel (K and V loads of a chunk
# issued at once, in-kernel merge of the splits) and the split-K skinny GEMM (o_proj, down).
# Order: kernel tests (every kernel against the CPU), CUDA-vs-CPU logits, the kernels alone
# (attention old/new at ctx 160 and 2048; lab_gemv with the split variants), then llama-2-7b
# TPOT at in 128 and 2048 with the new kernels on/off (alternated, two rounds), a profile, and
# compute-sanitizer memcheck + racecheck over the quick kernel tests last.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
cp /tmp/bins/lab_gemv build-dev/lab/ 2>/dev/null || { mkdir -p build-dev/lab && cp /tmp/bins/lab_gemv build-dev/lab/; }
{
echo "== kernel tests"
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "rc=$?"; tail -3 "$OUT/kernels.log"
grep -E "FAIL|split-K|mma/k" "$OUT/kernels.log" | grep -v " ok" | head -10
echo "== CUDA vs CPU logits (llama-2-7b shape, 2 layers)"
$R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 2>&1 | tail -6
echo "== attention alone"
$R build-dev/tests/cuda/test_cuda_kernels --attn-bench 2>&1 | grep -E "attn-bench.*decode"
echo "== lab_gemv"
$R build-dev/lab/lab_gemv --m 1,4,16 > "$OUT/lab_gemv.txt" 2>&1; echo "rc=$?"
grep -E "^#|^(o_proj|down) +1 |^qkv +1 |^gate_up +1 |^lm_head +1 " "$OUT/lab_gemv.txt"
for rep in 1 2; do
for v in old new; do
  if [ $v = old ]; then E="LF_CUDA_ATTN_DECODE=0 LF_CUDA_GEMV_SPLIT=0"; else E=""; fi
  echo "== $v (round $rep)"
  env $E LF_CUDA_TUNE_VERBOSE=$([ $rep = 1 ] && echo 1 || echo 0) $R $L bench -m llama-2-7b --batch 1 --in 128,2048 --out 128 \
      --json "$OUT/bench_7b_${v}_r$rep.json" > "$OUT/bench_${v}_r$rep.txt" 2>&1
  grep -E "^fp16|->" "$OUT/bench_${v}_r$rep.txt" | head -12
done
done
echo "== bench batch 4, 16 (new)"
$R $L bench -m llama-2-7b --batch 4,16 --in 128 --out 128 --json "$OUT/bench_7b_bs.json" 2>&1 | grep -E "^fp16"
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1
echo "== profile"; grep -E "^TPOT|^decode_early|^ *(attention|down_gemm|o_gemm|qkv_gemm|gate_up)" "$OUT/profile_7b.txt" | head -12
echo "== sanitize"
timeout 240 bash scripts/device_run.sh sanitize 2>&1 | tail -12
} > "$OUT/a.log" 2>&1
cat "$OUT/a.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name a.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
