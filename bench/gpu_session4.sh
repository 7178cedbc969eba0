#!/usr/bin/env bash
# gpu_session4.sh — CUDA engine vs HF transformers (fp16, bf16, and float32 as the truth) on the
# LLaMA-2-7B and Llama-3-8B shapes, references loaded from the checkpoint (see tools/hf_device_golden.py).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
PYTHONUNBUFFERED=1 timeout 400 python3 tools/hf_device_golden.py /tmp/hfg 7b,8b 2>&1 | grep hf_device_golden | tee "$OUT/hf_golden.log"
for s in 7b 8b; do for d in fp16 bf16; do
  [ -f /tmp/hfg/$s-$d.json ] && run build-dev/tests/cuda/test_hf_device /tmp/hfg/$s /tmp/hfg/$s-$d.json $d 2>&1 | grep -v "^   \|^== 20"
done; done | tee "$OUT/hf_compare.log"
