#!/usr/bin/env bash
# gpu_tp_cli.sh — `linfer generate --tp 2` on a 2-GPU machine (issue 5): greedy ids against
# --tp 1 from the CLI (process per GPU, spawned and supervised by linfer), TP 2 decode speed, and
# a rank killed mid-run (rank 0 must stop within 10 s with the cause).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/tp_cli.log"
{
if [ "${1:-}" != "--kill-only" ]; then
G="build-dev/linfer generate -m llama-2-13b --device cuda --batch 4 --in 32 -n 32 --print-ids --quiet"
for tp in 1 2; do run $G --tp $tp > "$OUT/ids_tp$tp.txt" 2> "$OUT/err_tp$tp.txt"; echo "tp $tp rc=$?"; tail -2 "$OUT/err_tp$tp.txt"; done
if diff <(grep '^ids' "$OUT/ids_tp1.txt") <(grep '^ids' "$OUT/ids_tp2.txt") > /dev/null; then echo "greedy ids TP2 == TP1 (4 prompts x 32)"; else
  echo "greedy ids differ:"; paste -d'\n' <(grep '^ids' "$OUT/ids_tp1.txt" | cut -c1-150) <(grep '^ids' "$OUT/ids_tp2.txt" | cut -c1-150); fi
for tp in 1 2; do echo "== speed tp $tp"; run build-dev/linfer generate -m llama-2-13b --device cuda --in 128 -n 128 --warmup 1 --reps 5 --tp $tp 2>&1 | grep -E "median|TPOT" ; done
fi
echo "== kill rank 1 mid-run"
( run build-dev/linfer generate -m llama-2-13b --device cuda --in 128 -n 3900 --reps 10 --tp 2 --quiet > /dev/null 2> "$OUT/kill_err.txt"; echo "rank0 rc=$?" > "$OUT/kill_rc.txt" ) &
child=""
for i in $(seq 1 60); do
  sleep 1
  child=$(pgrep -f "linfer generate -m llama-2-13b --device cuda --in 128 -n 3900" | while read p; do tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx 'RANK=1' && echo $p; done | head -1)
  [ -n "$child" ] && [ $i -ge 15 ] && break
done
echo "killing rank 1 pid ${child:-none} (SIGKILL)"; t0=$(date +%s.%N); [ -n "$child" ] && kill -9 "$child"
for i in $(seq 1 300); do [ -s "$OUT/kill_rc.txt" ] && break; sleep 0.1; done
t1=$(date +%s.%N); cat "$OUT/kill_rc.txt" 2>/dev/null
python3 -c "print('rank 0 ended %.1f s after the kill' % ($t1 - $t0))"; tail -5 "$OUT/kill_err.txt"
} > "$L" 2>&1
cat "$L"
