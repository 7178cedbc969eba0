#!/usr/bin/env bash
# gpu_session20c.sh — one nvidia-h200 call: the decode attention with its chunks staged through a
# shared-memory ring (cp.async, LF_CUDA_ATTN_PIPE=1; 20b tried a register-pipelined form: no gain), in the kernel lab and in whole
# steps. Kernel tests (the staged variant bit for bit against the register one); CUDA-vs-CPU greedy with it;
# lab_attention (CPU check, then timing) for llama-2-7b and llama-3-8b heads at bs 1 and 32 over
# contexts 128..4096 with the split / merge / pipelining settings; then llama-2-7b bench A/B
# (LF_CUDA_ATTN_PIPE=0/1, alternating) at bs 1 in 128, bs 1 in 2048 and bs 32 in 128.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "staged" "$OUT/kernels.log" | head -3 | cut -c1-160; grep -c "staged.*ok" "$OUT/kernels.log"
LF_CUDA_ATTN_PIPE=1 dev_vs_cpu
V=default,grain256,pipe,pipe+bps2,pipe+grain128,pipe+grain256,pipe+global
timeout 200 $R /tmp/bins/lab_attention --model llama-2-7b --ctx 128,512,2048,4096 --batch 1,32 --variants $V > "$OUT/lab_attn_7b.txt" 2>&1; echo "lab 7b rc=$?"
timeout 100 $R /tmp/bins/lab_attention --model llama-3-8b --ctx 512,2048 --batch 1,32 --variants default,pipe,pipe+bps2 > "$OUT/lab_attn_8b.txt" 2>&1; echo "lab 8b rc=$?"
echo "t=$(( $(date +%s) - t0 )) s"
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2; do
  for p in 0 1; do
    LF_CUDA_ATTN_PIPE=$p b in128_p${p}_r$r llama-2-7b --batch 1 --in 128 --out 128
    LF_CUDA_ATTN_PIPE=$p b in2048_p${p}_r$r llama-2-7b --batch 1 --in 2048 --out 128
    LF_CUDA_ATTN_PIPE=$p b b32_p${p}_r$r llama-2-7b --batch 32 --in 128 --out 128
  done
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/lab_attn_7b.txt" "$OUT/lab_attn_8b.txt" | grep -v "^#" | cut -c1-90
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
