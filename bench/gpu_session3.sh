#!/usr/bin/env bash
# gpu_session3.sh — where does the CUDA fp16 error against HF grow with prompt length?
# (1) CUDA vs the CPU fp32 engine on random weights of the llama-2-7b shape, 1 and 4 layers,
# prompts 5..400; (2) the CPU fp32 engine vs HF float32 on the HF 7B checkpoint (last 2 cases).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
{
for L in 1 4; do run build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b $L fp16 5 50 200 400 | grep -v "^   \|^== 20"; done
run build-dev/tests/cuda/test_cuda_vs_cpu llama-2-7b 4 bf16 5 200 | grep -v "^   \|^== 20"
} 2>&1 | tee "$OUT/cuda_vs_cpu.log"
PYTHONUNBUFFERED=1 timeout 200 python3 tools/hf_device_golden.py /tmp/hfg 7b > "$OUT/hf_golden.log" 2>&1; tail -1 "$OUT/hf_golden.log"
OMP_NUM_THREADS=16 run build-dev/tests/cuda/test_hf_device /tmp/hfg/7b /tmp/hfg/7b-fp16.json cpu 6 2>&1 | grep -v "^   \|^== 20" | tee "$OUT/cpu_vs_hf.log"
