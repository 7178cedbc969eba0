#!/usr/bin/env bash
# (Ran on an uncommitted tree of session 22 whose impl numbers 3-5 were experiments; the commit keeps
# one v3 form, the 3-buffer one (22e's impl 4), as impl 3: docs/perf-notes.md, session 22.)
# gpu_session22a.sh — one nvidia-h200 call: the prefill attention with 32 query rows per warp
# (lf_cuda_attention_tiles impl 3: 64 keys per step, impl 4: 32; LF_CUDA_ATTN_MMA=N picks it in the
# engine, 2 is the default). Kernel tests (v3 against the CPU with tiles of up to 128 rows), the
# attention alone (--attn-bench), CUDA-vs-CPU greedy with impl 3 and 4, llama-2-7b TTFT in 2048
# alternating 2/3/4 two rounds, then lab_gemv at 2048 rows (cublasGemmEx against cuBLASLt's
# algorithms for the prefill's GEMMs).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
grep -E "mma v[34]" "$OUT/kernels.log" | head -6 | cut -c1-120
$R build-dev/tests/cuda/test_cuda_kernels --attn-bench > "$OUT/attn_bench.log" 2>&1; echo "attn-bench rc=$?"
grep prefill "$OUT/attn_bench.log"
for i in 3 4; do
  LF_CUDA_ATTN_MMA=$i $R build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 2 fp16 1 7 33 100 129 200 300 > "$OUT/vs_cpu_mma$i.log" 2>&1
  echo "vs_cpu mma$i rc=$? $(tail -1 "$OUT/vs_cpu_mma$i.log")"
done
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2; do for i in 2 3 4; do LF_CUDA_ATTN_MMA=$i dev_bench 7b_in2048_mma${i}_r$r llama-2-7b --batch 1 --in 2048 --out 16; done; done
timeout 200 $R /tmp/bins/lab_gemv --model llama-2-7b --m 2048 --reps 7 --iters 10 > "$OUT/lab_gemv_2048.log" 2>&1
echo "lab_gemv rc=$?"; cat "$OUT/lab_gemv_2048.log"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
