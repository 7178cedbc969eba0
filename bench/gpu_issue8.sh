#!/usr/bin/env bash
# gpu_issue8.sh — issue 8's runs (TP 8), one stage per device call (each fits the 10-minute limit):
#
#   bash bench/gpu_issue8.sh check      test_tp: llama-2-13b greedy 32 tokens at TP 2, 4, 8 against
#                                       TP 1 on 8 prompts, logits, TPOT and the one-token all-reduce
#   bash bench/gpu_issue8.sh exp3 MODEL seed exp3 (in 20, out 100, batch $BATCHES) at TP 1, 2, 4, 8 for
#                                       MODEL (llama-2-13b, llama-2-70b): latency, tok/s and the
#                                       roofline's prediction per point; then `linfer profile --tp`:
#                                       rank 0's decode step per TP with the all-reduce share
#   bash bench/gpu_issue8.sh tpot70     llama-2-70b fp16 bs 1 TPOT at TP 4 and TP 8 (bar: TP 8 <=
#                                       0.6 x TP 4), three rounds alternating
#
# On nvidia-h200-x8; GPUS=2 or 4 runs the same stages on the smaller kinds (TP up to GPUS) to check
# the script. BATCHES (default 1,2,4,8,16,32,64,128,256) shortens the sweep. Points that do not fit
# in memory (70B at TP 1) are reported by the bench and skipped. Logs under $OUT; set
# LINFER_GIT_COMMIT in the command.
# carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
GPUS=${GPUS:-8}
BATCHES=${BATCHES:-1,2,4,8,16,32,64,128,256}
tps=""; for t in 1 2 4 8; do [ "$t" -le "$GPUS" ] && tps="$tps${tps:+,}$t"; done
tps_gt1=${tps#1,}
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
stage=${1:-check}
{
t0=$(date +%s)
nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader
echo "stage $stage, GPUs $GPUS, TP $tps"
case "$stage" in
check)
  timeout 500 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp "$tps_gt1" --steps 32 > "$OUT/test_tp.log" 2>&1
  echo "test_tp rc=$?"; grep -E "greedy|logits|TPOT|all-reduce|ratio" "$OUT/test_tp.log" | head -40
  ;;
exp3)
  m=${2:?exp3 needs a model}
  timeout 420 $R $L bench -m "$m" --tp "$tps" --batch "$BATCHES" --in 20 --out 100 --warmup 1 --reps 3 --no-progress \
    --json "$OUT/exp3_$m.json" --csv "$OUT/exp3_$m.csv" > "$OUT/exp3_$m.log" 2>&1
  echo "bench rc=$?"; grep -E "^(fp16|dtype)|does not fit" "$OUT/exp3_$m.log" | cut -c1-150
  timeout 150 $R $L profile -m "$m" --tp "$tps" --batch 1 --in 20 --out 32 --json "$OUT/profile_$m.json" > "$OUT/profile_$m.log" 2>&1
  echo "profile rc=$?"; grep -A8 "^decode at early context, per step" "$OUT/profile_$m.log" | grep -E "^ *[0-9]|^tp "
  ;;
tpot70)
  for r in 1 2 3; do for tp in 4 8; do
    [ "$tp" -le "$GPUS" ] || continue
    timeout 200 $R $L bench -m llama-2-70b --tp $tp --batch 1 --in 128 --out 128 --no-progress \
      --json "$OUT/tpot70_tp${tp}_r$r.json" > "$OUT/tpot70_tp${tp}_r$r.log" 2>&1
    echo "70b tp $tp r$r rc=$? $(grep -E '^fp16' "$OUT/tpot70_tp${tp}_r$r.log" | head -1 | awk '{print "tpot", $8, "p50", $9}')"
  done; done
  ;;
*) echo "unknown stage $stage (check, exp3 MODEL, tpot70)";;
esac
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
