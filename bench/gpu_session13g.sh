#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13g.sh — one nvidia-h200 call: the quick kernel tests five times and under racecheck
# once, after the fused-RoPE attention reads the caches with coherent loads (13f showed 1-ulp
# run-to-run differences of its output with read-only-path loads).
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
for i in 1 2 3 4 5; do $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/plain$i.log" 2>&1; echo "plain $i rc=$? $(tail -1 "$OUT/plain$i.log")"; grep -E "outputs differ" "$OUT/plain$i.log"; done
timeout 150 bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
grep -E "checks, |outputs differ" "$OUT"/sanitize_*.log
} > "$OUT/g.log" 2>&1
cat "$OUT/g.log"
