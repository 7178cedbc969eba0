#!/usr/bin/env bash
# gpu_session6.sh — issue 4, first round: the decode-step CUDA graph, the tensor-core skinny GEMM
# (M <= 16) and the fused gate/up+SwiGLU. Kernel tests first (every variant vs the CPU
# reference), then the GEMV lab at the 7B shapes, then decode TPOT across batch sizes for the
# skinny-GEMM crossover (LF_CUDA_GEMV = rows up to which it is used), graphs on/off.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"
grep -E "FAIL|checks,|linear-variant|gate_up|no graphs|gemv-mma" "$OUT/kernels.log" | grep -E "FAIL|checks,|forward" | head -20
run build-dev/lab/lab_gemv --dtype f16 > "$OUT/lab_gemv_f16.log" 2>&1; echo "lab rc=$?"
cat "$OUT/lab_gemv_f16.log"
B="build-dev/linfer bench -m llama-2-7b --device cuda --in 128 --out 128 --warmup 1 --reps 3"
for g in 2 16; do for gr in 1 0; do
  echo "== LF_CUDA_GEMV=$g LF_CUDA_GRAPH=$gr"
  LF_CUDA_GEMV=$g LF_CUDA_GRAPH=$gr run $B --batch 1,2,4,8,16 --json "$OUT/b_g${g}_gr${gr}.json" > "$OUT/b_g${g}_gr${gr}.log" 2>&1
  grep -vE "^\s*$" "$OUT/b_g${g}_gr${gr}.log" | tail -9
done; done
