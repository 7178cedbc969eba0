#!/usr/bin/env bash
# gpu_session15f.sh — one nvidia-h200-x2 call after session 15's review commit (the split merge as
# one function over where the partials sit, the one-shot setup's failure reasons through one
# helper): kernel tests (cluster merge = global merge bit for bit), CUDA-vs-CPU, test_tp at TP 2.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
$R build-dev/tests/cuda/test_cuda_kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$? $(tail -1 "$OUT/kernels.log") $(grep -c 'cluster merge.*ok' "$OUT/kernels.log") cluster checks ok"
grep -v " ok$" "$OUT/kernels.log" | grep -iE "fail|error" | head -3
dev_vs_cpu
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2 --dtype f16 > "$OUT/test_tp_f16.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP|all-reduce|linfer" "$OUT/test_tp_f16.log"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
