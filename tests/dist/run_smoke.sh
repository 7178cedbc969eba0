#!/usr/bin/env bash
# run_smoke.sh — the process model (src/dist/launcher.c) on a machine with CUDA, NCCL and >= 2
# GPUs: builds tests/dist/dist_smoke with cc (no Debian -dev libraries needed) and runs the
# scenarios of docs/distributed.md ("Tested"): spawn, refusals, a dead child, a stuck rank 0, a dead
# rank 0, a rank that never joins, an external launcher (shell loop and torchrun), a missing peer,
# a missing GPU. Prints "PASS name" / "FAIL name: why" and "smoke: N passed, M failed"; logs go to
# $OUT (default /tmp/lf-smoke).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/lf-smoke}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")}
inc=""
for d in "$CUDA_HOME/include" "$(python3 -c 'import nvidia.nccl as m; print(list(m.__path__)[0])' 2>/dev/null)/include" /usr/include tests/dist/include; do
  [ -f "$d/nccl.h" ] && { inc=$d; break; }
done
[ -n "$inc" ] || { echo "FAIL build: no nccl.h found"; exit 1; }
B=${B:-/tmp/lf-smoke-build}
mkdir -p "$B"
S=$B/dist_smoke
cc -O2 -g -std=c11 -D_GNU_SOURCE -DLINFER_HAVE_CUDA=1 -Iinclude -Isrc -I"$CUDA_HOME/include" -I"$inc" -o "$S" \
   tests/dist/dist_smoke.c src/dist/launcher.c src/dist/nccl_loader.c src/core/error.c src/core/atomic_file.c src/engine/gpu_query.c \
   -L"$CUDA_HOME/lib64" -Wl,-rpath,"$CUDA_HOME/lib64" -lcudart -lpthread -ldl 2>"$OUT/build.log" || { cat "$OUT/build.log"; echo "FAIL build"; exit 1; }
ngpu=$(nvidia-smi -L 2>/dev/null | wc -l)
echo "GPUs: $ngpu; nccl.h from $inc"
pass=0; fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); echo "--- stdout"; cat "$OUT/$1.out"; echo "--- stderr"; cat "$OUT/$1.err"; }
# run NAME TIMEOUT CMD...: rc in $rc, seconds in $secs
run() {
  local name=$1 t=$2; shift 2
  local t0=$(date +%s.%N)
  timeout -k 5 "$t" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; rc=$?
  secs=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }")
}
lt() { awk "BEGIN { exit !($1 < $2) }"; }
has() { grep -qF -- "$2" "$OUT/$1.$3"; }
alive_after() {   # alive_after PID SECONDS: 0 if the process still exists after that long
  local i=0
  while [ $i -lt $(( $2 * 10 )) ]; do kill -0 "$1" 2>/dev/null || return 1; sleep 0.1; i=$((i + 1)); done
  return 0
}

run spawn_ok 120 "$S" --tp 2
if [ $rc -eq 0 ] && has spawn_ok "ok: world 2" out && has spawn_ok "rank 0 stdout" out && ! has spawn_ok "rank 1 stdout" out \
   && has spawn_ok "linfer[rank 1]: joined as rank 1 of 2 on GPU 1" err && ! ls -d ${TMPDIR:-/tmp}/linfer-dist-* >/dev/null 2>&1; then ok spawn_ok
else bad spawn_ok "rc $rc"; fi
cat "$OUT/spawn_ok.out" "$OUT/spawn_ok.err"

run too_many 60 "$S" --tp $((ngpu + 1))
if [ $rc -eq 2 ] && has too_many "$((ngpu + 1)) ranks (--tp x --pp) need $((ngpu + 1)) GPUs, this machine has $ngpu" err; then ok too_many; else bad too_many "rc $rc"; fi
cat "$OUT/too_many.err"

run kill_child 60 "$S" --tp 2 --mode kill-child
if [ $rc -eq 1 ] && has kill_child "linfer: rank 1 (pid" err && has kill_child "died: killed by signal 9 (SIGKILL); stopping all ranks" err \
   && lt "$secs" 20; then ok kill_child; else bad kill_child "rc $rc after $secs s"; fi
echo "kill_child: rc $rc after $secs s"; cat "$OUT/kill_child.err"

run kill_child_raw 60 "$S" --tp 2 --mode kill-child-raw
if [ $rc -eq 1 ] && has kill_child_raw "died: killed by signal 9 (SIGKILL); stopping all ranks" err && lt "$secs" 25; then ok kill_child_raw; else bad kill_child_raw "rc $rc after $secs s"; fi
echo "kill_child_raw: rc $rc after $secs s"; cat "$OUT/kill_child_raw.err"

run stuck_rank0 60 "$S" --tp 2 --mode stuck-rank0
if [ $rc -eq 1 ] && has stuck_rank0 "died: exited with status 3; stopping all ranks" err && has stuck_rank0 "did not stop within 10 s" err \
   && ! has stuck_rank0 "woke up" out && lt "$secs" 25; then ok stuck_rank0; else bad stuck_rank0 "rc $rc after $secs s"; fi
echo "stuck_rank0: rc $rc after $secs s"; cat "$OUT/stuck_rank0.err"

run kill_parent 60 "$S" --tp 2 --mode kill-parent
child=$(sed -n 's/^linfer\[rank 1\]: joined .*(pid \([0-9]*\),.*/\1/p' "$OUT/kill_parent.err")
if [ $rc -eq 137 ] && [ -n "$child" ] && ! alive_after "$child" 10; then ok kill_parent; else bad kill_parent "rc $rc, child '$child' still alive or unknown"; fi
echo "kill_parent: rc $rc; child $child"; sleep 1; cat "$OUT/kill_parent.err"

LINFER_DIST_TIMEOUT_S=8 run no_join 60 env LINFER_DIST_TIMEOUT_S=8 "$S" --tp 2 --mode no-join
if [ $rc -eq 1 ] && has no_join "did not finish within 8 s" err && lt "$secs" 25; then ok no_join; else bad no_join "rc $rc after $secs s"; fi
echo "no_join: rc $rc after $secs s"; cat "$OUT/no_join.err"

# external launcher: a shell loop (the multi-host recipe of docs/distributed.md, on one host)
t0=$(date +%s.%N)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=29531 timeout 120 "$S" >"$OUT/ext_ok.$r.out" 2>"$OUT/ext_ok.$r.err" &
done
rcs=""; for j in $(jobs -p); do wait "$j"; rcs="$rcs $?"; done
cat "$OUT"/ext_ok.*.out "$OUT"/ext_ok.*.err
if [ "$rcs" = " 0 0" ] && grep -q "ok: world 2" "$OUT/ext_ok.0.out"; then ok ext_ok; else fail=$((fail + 1)); echo "FAIL ext_ok: rcs$rcs"; fi

run ext_missing 60 env RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29532 LINFER_DIST_TIMEOUT_S=3 "$S"
if [ $rc -eq 1 ] && has ext_missing "rank 1 of WORLD_SIZE=2 did not fetch the NCCL id from port 29532 within 3 s" err; then ok ext_missing; else bad ext_missing "rc $rc"; fi
cat "$OUT/ext_missing.err"

run ext_rank1_alone 60 env RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 MASTER_ADDR=127.0.0.1 MASTER_PORT=29533 LINFER_DIST_TIMEOUT_S=3 "$S"
if [ $rc -eq 1 ] && has ext_rank1_alone "linfer[rank 1]:" err && has ext_rank1_alone "could not get the NCCL id from rank 0 at 127.0.0.1:29533 within 3 s" err; then ok ext_rank1_alone; else bad ext_rank1_alone "rc $rc"; fi
cat "$OUT/ext_rank1_alone.err"

run ext_no_gpu 60 env RANK=0 WORLD_SIZE=1 LOCAL_RANK=$ngpu "$S"
if [ $rc -eq 1 ] && has ext_no_gpu "LOCAL_RANK=$ngpu needs GPU $ngpu, but this host has $ngpu GPUs" err; then ok ext_no_gpu; else bad ext_no_gpu "rc $rc"; fi
cat "$OUT/ext_no_gpu.err"

if command -v torchrun >/dev/null 2>&1; then
  run torchrun 180 env LINFER_DIST_PORT=29541 torchrun --standalone --nproc_per_node 2 --no-python "$S"
  if [ $rc -eq 0 ] && has torchrun "ok: world 2" out; then ok torchrun; else bad torchrun "rc $rc"; fi
  tail -5 "$OUT/torchrun.out"; grep -v '^\s*$' "$OUT/torchrun.err" | tail -8
  # without LINFER_DIST_PORT: MASTER_PORT may be the agent's store; either it works or the error says what to do
  run torchrun_mport 180 torchrun --nnodes 1 --nproc_per_node 2 --master_addr 127.0.0.1 --master_port 29551 --no-python env LINFER_DIST_TIMEOUT_S=10 "$S"
  echo "torchrun without LINFER_DIST_PORT: rc $rc"; grep -E "linfer|ok:" "$OUT/torchrun_mport.out" "$OUT/torchrun_mport.err" | head -6
fi
echo "smoke: $pass passed, $fail failed"
[ $fail -eq 0 ]
