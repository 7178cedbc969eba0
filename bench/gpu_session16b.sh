#!/usr/bin/env bash
# Needs lab_gemv_old (lab/lab_gemv.c built from 76965d0) in build-dev/pack/bins.tar.xz.
# gpu_session16b.sh — one nvidia-h200 call (issues 3, 4): which linear-layer kernels make the
# fastest decode step at bs 1. Kernel tests (the FFMA GEMV with 8 loads in flight), the kernel lab
# at one row for the session's tree and for HEAD 76965d0 (lab_gemv_old: is the skinny GEMM as fast
# as before the peeled early round?), then TPOT with the layer kernels forced (LF_CUDA_IMPL) against
# the timing's choice: llama-2-7b three rounds, llama-2-13b and llama-3-8b two; bs 8 with the
# skinny GEMM's early weights on and off.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
$R /tmp/bins/lab_gemv --m 1,8 --reps 5 > "$OUT/lab_new.txt" 2>&1; echo "lab new rc=$?"
$R /tmp/bins/lab_gemv_old --m 1,8 --reps 5 > "$OUT/lab_old.txt" 2>&1; echo "lab old rc=$?"
LF_CUDA_GEMV_EARLY=1 $R /tmp/bins/lab_gemv --m 1,8 --reps 5 > "$OUT/lab_new_early.txt" 2>&1; echo "lab new early rc=$?"
echo "t=$(( $(date +%s) - t0 )) s"
F="qkv:ffma,o_proj:ffma,gate_up:ffma,down:ffma,lm_head:ffma"
F8="qkv:ffma8,o_proj:ffma8,gate_up:ffma8,down:ffma8,lm_head:ffma8"
envof() { case $1 in base) echo "LF_X=1";; ffma) echo "LF_CUDA_IMPL=$F";; ffma8) echo "LF_CUDA_IMPL=$F8";;
  dcub) echo "LF_CUDA_IMPL=$F,down:cublas";; early) echo "LF_CUDA_GEMV_EARLY=1";; esac; }
run() { # model config round [batch]
  local bs=${4:-1}
  env LF_CUDA_TUNE_VERBOSE=1 $(envof $2) $R $L bench -m $1 --batch $bs --in 128 --out 128 --warmup 1 --reps 3 --json "$OUT/bench_$1_$2_b${bs}_r$3.json" > "$OUT/bench_$1_$2_b${bs}_r$3.log" 2>&1
  grep -E "^fp16" "$OUT/bench_$1_$2_b${bs}_r$3.log" | sed "s/^/$1 $2 r$3: /"
}
for rep in 1 2 3; do for a in base ffma ffma8 dcub; do run llama-2-7b $a $rep; done; done
echo "t=$(( $(date +%s) - t0 )) s"
for rep in 1 2; do for m in llama-2-13b llama-3-8b; do for a in base ffma ffma8; do run $m $a $rep; done; done; done
for rep in 1 2; do for a in base early; do run llama-2-7b $a $rep 8; done; done
echo "t=$(( $(date +%s) - t0 )) s"
for f in "$OUT"/bench_llama-2-7b_base_b1_r1.log "$OUT"/bench_llama-2-7b_base_b8_r1.log "$OUT"/bench_llama-2-13b_base_b1_r1.log; do
  echo "== $f"; grep -A5 "CUDA linear layers at" "$f" | head -6
done
echo "--- lab, one row (us): new / old / new early"
awk 'FNR==1{f++} ($2==1 || $2==8) && $4+0>0 {k=$1" "$2" "$3; v[f,k]=$4; if (f==1) o[++n]=k}
  END {for (i=1;i<=n;i++) print o[i], v[1,o[i]], v[2,o[i]], v[3,o[i]]}' "$OUT/lab_new.txt" "$OUT/lab_old.txt" "$OUT/lab_new_early.txt" | column -t
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/b.log" 2>&1
cat "$OUT/b.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name b.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
