#!/usr/bin/env bash
# gpu_session26b.sh — one nvidia-h200 call: the persistent decode kernel with per-warp slots (no
# block barrier per slot), its checks, then where its time goes at llama-2-7b bs 1 in 128: ring
# slots of 24 / 48 / 64 KiB, and (timing only, wrong tokens) without the attention, without the
# grid barriers, without the GEMV math, and with none of them (the bare weight stream).
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
timeout 180 $R build-dev/tests/cuda/test_cuda_kernels --stream > "$OUT/stream_checks.log" 2>&1
echo "stream checks rc=$? $(tail -1 "$OUT/stream_checks.log")"
grep -E "FAIL|not used" "$OUT/stream_checks.log" | head -5
dev_calibrate
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
LF_CUDA_STREAM=0 dev_bench chain llama-2-7b --batch 1 --in 128 --out 64
for kb in 24 48 64; do
  LF_CUDA_STREAM=1 LF_CUDA_STREAM_SLOT_KB=$kb dev_bench slot$kb llama-2-7b --batch 1 --in 128 --out 64
done
for d in 1 2 4 3 7; do
  LF_CUDA_STREAM=1 LF_CUDA_STREAM_DEBUG=$d dev_bench debug$d llama-2-7b --batch 1 --in 128 --out 64
done
LF_CUDA_STREAM=1 LF_CUDA_STREAM_SLOT_KB=48 LF_CUDA_STREAM_DEBUG=7 dev_bench debug7_slot48 llama-2-7b --batch 1 --in 128 --out 64
LF_CUDA_STREAM=0 dev_bench chain2 llama-2-7b --batch 1 --in 128 --out 64
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
