#!/usr/bin/env bash
# Needs the tree of this call (4819101 without its cleanup): the switches LF_CUDA_ATTN_EARLY, LF_CUDA_GEMV_PF,
# LF_CUDA_OPROJ_PF and LF_ATTN_MAX_SPLITS existed only for these measurements.
# gpu_session15a.sh — one nvidia-h200 call (issues 3, 4, 5): the review commit's kernels on a GPU
# (kernel tests, CUDA-vs-CPU), then what the attention / o_proj pair of the decode step loses, by
# switches: the fused attention's K/V loads before its dependency wait (LF_CUDA_ATTN_EARLY), the
# context split cap (LF_ATTN_MAX_SPLITS), the skinny GEMM's L2 prefetch before its wait
# (LF_CUDA_GEMV_PF for all, LF_CUDA_OPROJ_PF for o_proj only). llama-2-7b in 128 out 128 TPOT, two
# rounds; per-op profiles of three arms.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log") $(grep -c 'RoPE.*ok' "$OUT/kernels.log") fused-RoPE checks ok"
grep FAIL "$OUT/kernels.log" | head -3
LF_CUDA_ATTN_EARLY=0 $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/kernels_late.log" 2>&1; echo "kernels (late loads) rc=$? $(tail -1 "$OUT/kernels_late.log")"
dev_vs_cpu
echo "t=$(( $(date +%s) - t0 )) s"
arms="base early0 split1 split2 split4 opf0 opf1 gpf0 gpf1"
envof() { case $1 in base) echo "LF_X=1";; early0) echo "LF_CUDA_ATTN_EARLY=0";; split1) echo "LF_ATTN_MAX_SPLITS=1";;
  split2) echo "LF_ATTN_MAX_SPLITS=2";; split4) echo "LF_ATTN_MAX_SPLITS=4";; opf0) echo "LF_CUDA_OPROJ_PF=0";;
  opf1) echo "LF_CUDA_OPROJ_PF=1";; gpf0) echo "LF_CUDA_GEMV_PF=0";; gpf1) echo "LF_CUDA_GEMV_PF=1";; esac; }
for rep in 1 2; do
for a in $arms; do
  line=$(env $(envof $a) $R $L bench -m llama-2-7b --batch 1 --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_${a}_r$rep.json" 2>&1 | grep -E "^fp16" | head -1)
  echo "$a r$rep: $line"
done
echo "t=$(( $(date +%s) - t0 )) s"
done
for a in base opf0 gpf0; do
  env $(envof $a) $R $L profile -m llama-2-7b --in 128 --out 64 --reps 2 --json "$OUT/profile_$a.json" > "$OUT/profile_$a.txt" 2>&1; echo "profile $a rc=$?"
  awk '/^decode_early/{f=1} f&&/^(attention|down_gemm|qkv_gemm|o_gemm|o_proj|gate_up|norm|lm_head)/{print} /^decode_late/{f=0}' "$OUT/profile_$a.txt"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/a.log" 2>&1
cat "$OUT/a.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name a.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
