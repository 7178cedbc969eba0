#!/usr/bin/env bash
# gpu_session14e.sh — one nvidia-h200-x4 call (issue 5), the code as committed: the one-shot push
# all-reduce on, the all-reduce + norm fusion off (its default), the process token made once per
# process (14c/14d's TP 2 runs of test_tp fell back to NCCL: two rank threads made two tokens).
# test_tp for llama-2-13b fp16 at TP 2 and 4, then `linfer bench --tp 1,2,4`, two rounds.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
dev_calibrate
echo "== test_tp 13b fp16"
timeout 300 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 > "$OUT/test_tp.log" 2>&1; echo "test_tp rc=$?"
grep -E "^TP|all-reduce|linfer" "$OUT/test_tp.log"
for rep in 1 2; do
  echo "== 13b tp 1,2,4 (round $rep)"
  timeout 200 $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp 1,2,4 --json "$OUT/bench_13b_r$rep.json" 2>&1 | grep -E "^fp16|rror"
done
} > "$OUT/e.log" 2>&1
cat "$OUT/e.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name e.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
