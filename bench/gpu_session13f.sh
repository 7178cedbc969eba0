#!/usr/bin/env bash
# (A record of session 13: it ran on trees that also had the split-K skinny GEMM or the RoPE-fused
# attention, both removed since — docs/perf-notes.md; LF_CUDA_GEMV_SPLIT and LF_CUDA_FUSE_ROPE were their switches.)
# gpu_session13f.sh — one nvidia-h200 call: the quick kernel tests three times plain, then under
# compute-sanitizer memcheck and racecheck, to see whether the fused-RoPE attention's output
# (bit-compared with RoPE kernel + attention) ever differs, and which path moves.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
for i in 1 2 3; do $R build-dev/tests/cuda/test_cuda_kernels --quick > "$OUT/plain$i.log" 2>&1; echo "plain $i rc=$?"; tail -1 "$OUT/plain$i.log"; grep -E "FAIL|outputs differ" "$OUT/plain$i.log"; done
timeout 300 bash scripts/device_run.sh sanitize 2>&1 | grep -E "SUMMARY|rc="
grep -E "checks, |FAIL|outputs differ" "$OUT"/sanitize_*.log
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
