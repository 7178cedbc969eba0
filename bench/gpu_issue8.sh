#!/usr/bin/env bash
# gpu_issue8.sh — issue 8's runs (TP 8). Each argument is a stage; the stages of one device call run
# in order under one deadline (DEADLINE seconds, default 570: the call's 10-minute limit less the
# unpacking), and a stage that no longer fits is skipped with a line saying so:
#
#   calibrate      `linfer calibrate` on GPU 0 with NCCL at 2, 4, 8 GPUs (the ceilings every later
#                  prediction uses; the file is copied to $OUT). A later call on a fresh machine
#                  restores it from build-dev/pack/calibration.txt when that was carried.
#   check          test_tp: llama-2-13b greedy 32 tokens at TP 2, 4, 8 against TP 1 on 8 prompts,
#                  logits, TPOT and the one-token all-reduce; if a TP's tokens differ, the same check in
#                  the TP-invariant mode (bit for bit) at TP 8 follows
#   exp3:MODEL[:TPS]  seed exp3 (in 20, out 100, batch $BATCHES) at TP 1, 2, 4, 8 (or the list TPS) for
#                  MODEL (llama-2-13b, llama-2-70b): latency, tok/s and the roofline's prediction per point
#   profile:MODEL  `linfer profile --tp 1,2,4,8` at bs 1 (in 20, out 32): rank 0's decode step per TP
#                  with the all-reduce share (seed 003's question)
#   seed003        seed 003's 4-vs-8-GPU experiment: llama-2-70b, batch 20, in 1024, per-op prefill and
#                  decode at TP 4 and 8 (out 64 here instead of the seed's 1024)
#   tpot70         llama-2-70b fp16 bs 1 TPOT at TP 4 and TP 8 (bar: TP 8 <= 0.6 x TP 4), three rounds
#                  alternating
#
#   e.g. bash bench/gpu_issue8.sh calibrate check tpot70 exp3:llama-2-13b profile:llama-2-13b
#
# On nvidia-h200-x8; GPUS=2 or 4 runs the same stages on the smaller kinds (TP up to GPUS) to check
# the script. BATCHES (default 1,2,4,8,16,32,64,128,256) shortens the sweep. Points that do not fit
# in memory are reported by the bench and skipped. Logs under $OUT; set LINFER_GIT_COMMIT in the
# command. carry: build-dev/lib build-dev/pack
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
GPUS=${GPUS:-8}
BATCHES=${BATCHES:-1,2,4,8,16,32,64,128,256}
DEADLINE=${DEADLINE:-570}
tps=""; for t in 1 2 4 8; do [ "$t" -le "$GPUS" ] && tps="$tps${tps:+,}$t"; done
tps_gt1=${tps#1,}
top=${tps##*,}
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
[ $# -gt 0 ] || set -- check
t0=$(date +%s)
# budget NEED MAX: prints the timeout for a stage that needs NEED seconds and may take MAX, or
# nothing when less than NEED is left before the deadline
budget() {
  local left=$(( DEADLINE - ($(date +%s) - t0) - 5 ))
  [ "$left" -ge "$1" ] && echo $(( left < $2 ? left : $2 ))
}
run_stage() {
  local stage=$1 m=${1#*:} to mtps=$tps
  case "$m" in *:*) mtps=${m#*:}; m=${m%%:*};; esac
  case "$stage" in
  calibrate)
    to=$(budget 40 150) || { echo "calibrate: skipped (deadline)"; return; }
    timeout "$to" $R $L calibrate > "$OUT/calibrate.txt" 2>&1; echo "calibrate rc=$?"
    grep -E "HBM read|GEMM fp16|all-reduce|latency" "$OUT/calibrate.txt" | cut -c1-150 | head -12
    cp ~/.cache/linfer/calibration.txt "$OUT/" 2>/dev/null
    ;;
  check)
    to=$(budget 60 240) || { echo "check: skipped (deadline)"; return; }
    timeout "$to" $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp "$tps_gt1" --steps 32 > "$OUT/test_tp.log" 2>&1
    local rc=$?; echo "test_tp rc=$rc"; grep -E "^TP|TPOT|all-reduce|one-shot up to" "$OUT/test_tp.log" | cut -c1-220 | head -40
    if [ $rc -ne 0 ] && grep -q "DIFFERENT" "$OUT/test_tp.log"; then
      to=$(budget 40 120) || { echo "check --invariant: skipped (deadline)"; return; }
      timeout "$to" $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp "$top" --steps 32 --no-speed --invariant > "$OUT/test_tp_inv.log" 2>&1
      echo "test_tp --invariant rc=$?"; grep -E "^TP" "$OUT/test_tp_inv.log" | cut -c1-220
    fi
    ;;
  exp3:*)
    to=$(budget 60 480) || { echo "exp3 $m: skipped (deadline)"; return; }
    timeout "$to" $R $L bench -m "$m" --tp "$mtps" --batch "$BATCHES" --in 20 --out 100 --warmup 1 --reps 3 --no-progress \
      --json "$OUT/exp3_$m.json" --csv "$OUT/exp3_$m.csv" > "$OUT/exp3_$m.log" 2>&1
    echo "exp3 $m (TP $mtps) rc=$?"; grep -E "^(fp16|dtype)|does not fit|rror|one-shot up to" "$OUT/exp3_$m.log" | cut -c1-150
    ;;
  profile:*)
    to=$(budget 40 200) || { echo "profile $m: skipped (deadline)"; return; }
    timeout "$to" $R $L profile -m "$m" --tp "$tps" --batch 1 --in 20 --out 32 --reps 2 --json "$OUT/profile_$m.json" > "$OUT/profile_$m.log" 2>&1
    echo "profile $m rc=$?"; sed -n '/^decode at early context, per step/,$p' "$OUT/profile_$m.log" | head -12
    ;;
  seed003)
    local t; for t in 4 8; do
      [ "$t" -le "$GPUS" ] || continue
      to=$(budget 40 120) || { echo "seed003 tp $t: skipped (deadline)"; continue; }
      timeout "$to" $R $L profile -m llama-2-70b --tp "$t" --batch 20 --in 1024 --out 64 --warmup 1 --reps 2 \
        --json "$OUT/seed003_tp$t.json" > "$OUT/seed003_tp$t.log" 2>&1
      echo "seed003 tp $t rc=$?"; grep -E "^(prefill|decode)|all_reduce|allreduce|ffn|attention" "$OUT/seed003_tp$t.log" | cut -c1-150 | head -24
    done
    ;;
  tpot70)
    local r tp; for r in 1 2 3; do for tp in 4 8; do
      [ "$tp" -le "$GPUS" ] || continue
      to=$(budget 30 90) || { echo "70b tp $tp r$r: skipped (deadline)"; continue; }
      timeout "$to" $R $L bench -m llama-2-70b --tp $tp --batch 1 --in 128 --out 128 --warmup 1 --reps 3 --no-progress \
        --json "$OUT/tpot70_tp${tp}_r$r.json" > "$OUT/tpot70_tp${tp}_r$r.log" 2>&1
      echo "70b tp $tp r$r rc=$? $(grep -E '^fp16' "$OUT/tpot70_tp${tp}_r$r.log" | head -1 | awk '{print "tpot", $8, "p50", $9, "pred", $12}')"
    done; done
    ;;
  *) echo "unknown stage $stage (calibrate, check, exp3:MODEL, profile:MODEL, seed003, tpot70)";;
  esac
}
{
nvidia-smi --query-gpu=index,name,driver_version --format=csv,noheader
nvidia-smi topo -m > "$OUT/topo.txt" 2>&1; head -3 "$OUT/topo.txt" | cut -c1-120
echo "stages $*, GPUs $GPUS, TP $tps, deadline $DEADLINE s"
if [ ! -f ~/.cache/linfer/calibration.txt ] && [ -f build-dev/pack/calibration.txt ]; then
  mkdir -p ~/.cache/linfer && cp build-dev/pack/calibration.txt ~/.cache/linfer/ && echo "calibration restored from the pack"
fi
for s in "$@"; do
  echo "== $s (t=$(( $(date +%s) - t0 )) s)"
  run_stage "$s"
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
