#!/usr/bin/env bash
# gpu_session14g.sh — one nvidia-h200-x4 call: the final tree of session 14 (RoPE inside the decode
# attention, push all-reduce) under tensor parallelism. test_tp for llama-2-13b at TP 2 and 4 in
# fp16 (identity, logits, TPOT, the one-token all-reduce) and bf16 (no speed runs); `linfer bench
# --tp 1,2,4`, two rounds.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
dev_calibrate
for dt in f16 bf16; do
  echo "== test_tp 13b $dt"
  S=$([ $dt = bf16 ] && echo --no-speed)
  timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype $dt $S > "$OUT/test_tp_$dt.log" 2>&1; echo "test_tp rc=$?"
  grep -E "^TP|all-reduce|linfer" "$OUT/test_tp_$dt.log"
done
for rep in 1 2; do
  echo "== 13b tp 1,2,4 (round $rep)"
  timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_r$rep.json" 2>&1 | grep -E "^fp16|rror"
done
} > "$OUT/g.log" 2>&1
cat "$OUT/g.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name g.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
