#!/usr/bin/env bash
# gpu_session19a.sh — one nvidia-h200-x4 call: the TP-invariant mode (lf_cuda_gemv_invariant for
# every linear layer, row-split partials all-gathered and added in a fixed tree, attention
# unsplit). test_cuda_kernels (the new kernel against the CPU and bit for bit against its own TP
# splits; every other kernel as before); test_tp llama-2-13b --tp 2,4 --pp 2 --invariant in fp16
# (with the TPOT of the mode) and bf16: greedy tokens and last logits must be TP 1's bit for bit;
# the fast mode's PP 2 x TP 2 (not run in session 18); `linfer generate --tp-invariant` at TP 1 and
# TP 2 through the CLI's own rank processes, ids compared.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
export LF_ONESHOT_TIMEOUT_S=30
{
t0=$(date +%s)
dev_kernel_tests
grep -E "invariant" "$OUT/kernels.log" | cut -c1-150
echo "t=$(( $(date +%s) - t0 )) s"
timeout 200 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --pp 2 --dtype f16 --invariant > "$OUT/test_tp_inv_f16.log" 2>&1; echo "test_tp inv f16 rc=$?"
grep -E "^(TP|PP)" "$OUT/test_tp_inv_f16.log" | grep -v "all-reduce" | cut -c1-230
timeout 150 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --pp 2 --dtype bf16 --invariant --no-speed > "$OUT/test_tp_inv_bf16.log" 2>&1; echo "test_tp inv bf16 rc=$?"
grep -E "^(TP|PP) [24]" "$OUT/test_tp_inv_bf16.log" | grep -v "all-reduce" | cut -c1-230
echo "t=$(( $(date +%s) - t0 )) s"
timeout 150 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 1 --pp 2 --pp-tp 2 --dtype f16 --no-speed > "$OUT/test_tp_pptp.log" 2>&1; echo "test_tp pp2xtp2 f16 rc=$?"
grep -E "^PP" "$OUT/test_tp_pptp.log" | cut -c1-230
for tp in 1 2; do
  timeout 120 $R $L generate -m llama-2-13b --tp $tp --tp-invariant --in 64 --batch 2 -n 24 --print-ids > "$OUT/gen_inv_tp$tp.log" 2>&1; echo "generate tp$tp rc=$?"
  grep -E "^ids" "$OUT/gen_inv_tp$tp.log" > "$OUT/ids_tp$tp.txt"
done
cmp -s "$OUT/ids_tp1.txt" "$OUT/ids_tp2.txt" && echo "generate --tp-invariant: TP 2 ids == TP 1 ids ($(wc -l < "$OUT/ids_tp1.txt") lines)" || echo "generate --tp-invariant: ids DIFFER"
grep -E "TPOT|tok/s" "$OUT/gen_inv_tp1.log" | head -2
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
