#!/usr/bin/env bash
# run_fuzz_parallel.sh SECONDS WORKERS TARGET... — the CPU-hours run of docs/fuzzing.md on a
# machine with many idle cores (e.g. the device machine's host CPUs), from the repository root.
#
# Every target runs at the same time, each as WORKERS libFuzzer jobs (-jobs=W -workers=W) that
# share one corpus directory, for SECONDS of wall-clock time; so each target gets about
# WORKERS x SECONDS CPU-seconds, and the script measures what it really got (the children's user +
# system time, from bash's `times`). Before fuzzing, each target replays its regression inputs
# (tests/data/fuzz/regressions/<target>-*). The corpus starts from the committed seeds plus, when
# $FUZZ_CORPUS_TAR names a tar(.xz) of earlier scratch corpora (build-fuzz/corpus/<target>/...),
# those; the grown corpora are packed into $FUZZ_OUT/corpus.tar.xz at the end.
#
# Binaries come from $FUZZ_DIR (default build-fuzz; `make -f fuzz/Makefile all`). Logs, crash
# artifacts and a summary table go to $FUZZ_OUT (default $FUZZ_DIR/parallel). Exit status 1 if any
# target crashed, leaked, timed out or failed a regression.
set -u
secs=${1:?usage: run_fuzz_parallel.sh SECONDS WORKERS TARGET...}
workers=${2:?usage: run_fuzz_parallel.sh SECONDS WORKERS TARGET...}
shift 2
dir=${FUZZ_DIR:-build-fuzz}
out=${FUZZ_OUT:-$dir/parallel}
work=${FUZZ_WORK:-$dir/parallel-work}
mkdir -p "$out/logs" "$out/artifacts" "$work/corpus"
root=$(pwd)
abs() { case "$1" in /*) echo "$1" ;; *) echo "$root/$1" ;; esac; }
dir=$(abs "$dir"); out=$(abs "$out"); work=$(abs "$work")
# the tokenizer targets load fixed tokenizers from tests/data; the jobs run from their log folders
export LINFER_FUZZ_DATA=${LINFER_FUZZ_DATA:-$root/tests/data}

max_len() {
    case "$1" in
    fuzz_safetensors) echo 16384 ;;
    fuzz_gguf | fuzz_tokenizer_json | fuzz_model_load) echo 65536 ;;
    *) echo 4096 ;;
    esac
}

if [ -n "${FUZZ_CORPUS_TAR:-}" ] && [ -f "$FUZZ_CORPUS_TAR" ]; then
    tar -C "$work/corpus" -xf "$FUZZ_CORPUS_TAR" || echo "warning: could not unpack $FUZZ_CORPUS_TAR" >&2
fi

run_target() { # target -> writes $out/logs/<t>.summary
    local t=$1 bin="$dir/$1" corpus="$work/corpus/$1"
    local sum="$out/logs/$t.summary"
    if [ ! -x "$bin" ]; then echo "$t MISSING" >"$sum"; return; fi
    local nreg=0 nfail=0 r
    for r in tests/data/fuzz/regressions/"$t"-*; do
        [ -e "$r" ] || continue
        nreg=$((nreg + 1))
        "$bin" -rss_limit_mb=2048 -timeout=60 "$root/$r" >"$out/logs/$t.regress.log" 2>&1 || nfail=$((nfail + 1))
    done
    mkdir -p "$corpus" "$out/logs/$t"
    [ -d "tests/data/fuzz/$t" ] && cp -n tests/data/fuzz/"$t"/* "$corpus"/ 2>/dev/null
    local start_n; start_n=$(find "$corpus" -type f | wc -l)
    local dict=()
    [ -f "fuzz/dicts/$t.dict" ] && dict=("-dict=fuzz/dicts/$t.dict")
    # each job writes fuzz-<n>.log in the current directory: run from the target's log directory
    local t0 t1 cpu rc
    t0=$(date +%s)
    cpu=$(
        cd "$out/logs/$t" || exit 1
        "$bin" "$corpus" "${dict[@]/-dict=/-dict=$root/}" -jobs="$workers" -workers="$workers" \
            -max_total_time="$secs" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -timeout=60 \
            -print_final_stats=1 -artifact_prefix="$out/artifacts/$t-" >/dev/null 2>&1
        echo "rc=$?"
        times
    )
    t1=$(date +%s)
    rc=$(echo "$cpu" | sed -n 's/^rc=//p')
    # children's user and system time: "XmY.YYYs XmY.YYYs"
    local cpu_s
    cpu_s=$(echo "$cpu" | tail -1 | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } printf "%.0f", s }')
    local execs
    execs=$(cat "$out/logs/$t"/fuzz-*.log 2>/dev/null | awk '/stat::number_of_executed_units/ { s += $2 } END { print s + 0 }')
    local ncrash
    ncrash=$(find "$out/artifacts" -name "$t-*" -type f | wc -l)
    local bad
    bad=$(grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|FUZZ_CHECK" "$out/logs/$t"/fuzz-*.log 2>/dev/null | wc -l)
    local res=OK
    if [ "$ncrash" -gt 0 ] || [ "$bad" -gt 0 ] || [ "$nfail" -gt 0 ] || [ "${rc:-1}" != 0 ] || [ "$execs" = 0 ]; then
        res="FAIL (rc $rc, execs $execs, artifacts $ncrash, reporting jobs $bad, regressions failing $nfail)"
    fi
    printf '%-20s wall %5ss  workers %3s  cpu %6ss (%5.1f CPU-min)  execs %-12s corpus %6s -> %-6s regressions %s/%s ok  rc %s  %s\n' \
        "$t" "$((t1 - t0))" "$workers" "$cpu_s" "$(echo "$cpu_s" | awk '{print $1 / 60}')" "$execs" "$start_n" \
        "$(find "$corpus" -type f | wc -l)" "$((nreg - nfail))" "$nreg" "$rc" "$res" >"$sum"
}

for t in "$@"; do run_target "$t" & done
wait
status=0
{
    echo "---- parallel fuzz: $secs s x $workers workers per target, $(nproc) CPUs, $(date -u +%FT%TZ) ----"
    for t in "$@"; do cat "$out/logs/$t.summary"; done
} | tee "$out/summary.txt"
grep -q -E "FAIL|MISSING" "$out/summary.txt" && status=1
tar -C "$work/corpus" -cJf "$out/corpus.tar.xz" . 2>/dev/null || true
exit $status
