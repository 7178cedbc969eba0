#!/usr/bin/env bash
# gpu_session19e.sh — one nvidia-h200-x4 call: the TP-invariant mode on a GQA model (llama-3-8b:
# 32 query heads, 8 KV heads, vocabulary 128256) at TP 2, 4 and PP 2 in bf16 and fp16 (test_tp
# --invariant --no-speed), and `linfer bench --tp-invariant` (the flag through bench's rank jobs)
# at TP 1 and 2 on llama-2-7b.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
export LF_ONESHOT_TIMEOUT_S=30
{
t0=$(date +%s)
for dt in bf16 f16; do
  timeout 200 $R build-dev/tests/cuda/test_tp --model llama-3-8b --tp 2,4 --pp 2 --dtype $dt --invariant --no-speed > "$OUT/test_tp_inv_8b_$dt.log" 2>&1; echo "test_tp llama-3-8b inv $dt rc=$?"
  grep -E "^(TP|PP) [24]" "$OUT/test_tp_inv_8b_$dt.log" | grep greedy | cut -c1-230
done
echo "t=$(( $(date +%s) - t0 )) s"
timeout 120 $R $L bench -m llama-2-7b --batch 1 --in 128 --out 32 --tp-invariant --json "$OUT/bench_inv_tp1.json" > "$OUT/bench_inv_tp1.log" 2>&1; echo "bench inv tp1 rc=$?"
timeout 150 $R $L bench -m llama-2-7b --tp 2 --batch 1 --in 128 --out 32 --tp-invariant --json "$OUT/bench_inv_tp2.json" > "$OUT/bench_inv_tp2.log" 2>&1; echo "bench inv tp2 rc=$?"
grep -E "^TP-invariant|^fp16" "$OUT/bench_inv_tp1.log" "$OUT/bench_inv_tp2.log" | cut -c1-160
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
