#!/usr/bin/env bash
# gpu_session25e.sh — one nvidia-h200-x2 call, session 25: the GQA decode kernel under tensor
# parallelism. Quick kernel tests; test_tp at llama-3-8b, TP 1 against TP 2, with the GQA kernel
# forced on every launch (LF_CUDA_ATTN_GQA=2: the test's contexts are below the default rule's
# threshold) in the TP-invariant mode (the same bits at every TP: 4 warps per block without a split
# scratch) and in the default mode, and with the default rule.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests --quick
T=build-dev/tests/cuda/test_tp
LF_CUDA_ATTN_GQA=2 timeout 200 $R $T --model llama-3-8b --tp 2 --invariant --no-speed > "$OUT/tp_8b_gqa2_inv.log" 2>&1; echo "tp 8b gqa=2 invariant rc=$?"
grep -E "summary|FAIL|identical|bits" "$OUT/tp_8b_gqa2_inv.log" | tail -4
LF_CUDA_ATTN_GQA=2 timeout 150 $R $T --model llama-3-8b --tp 2 --no-speed > "$OUT/tp_8b_gqa2.log" 2>&1; echo "tp 8b gqa=2 rc=$?"
grep -E "summary|FAIL|identical|bits" "$OUT/tp_8b_gqa2.log" | tail -4
timeout 150 $R $T --model llama-3-8b --tp 2 --no-speed > "$OUT/tp_8b.log" 2>&1; echo "tp 8b default rc=$?"
grep -E "summary|FAIL|identical|bits" "$OUT/tp_8b.log" | tail -4
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
