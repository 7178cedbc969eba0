#!/usr/bin/env bash
# run_fuzz.sh SECONDS TARGET... — called by fuzz/Makefile (fuzz-short, fuzz-long, fuzz-one) from
# the repository root, after the targets are built in $FUZZ_DIR (default build-fuzz).
#
# For each target:
#   1. replay tests/data/fuzz/regressions/<target>-* (inputs that once crashed it) one by one;
#   2. copy the committed seeds tests/data/fuzz/<target>/ into the scratch corpus
#      $FUZZ_DIR/corpus/<target>/ (emptied first when FUZZ_FRESH=1) and fuzz for SECONDS with
#      -max_len per target, -rss_limit_mb=2048, the target's dictionary fuzz/dicts/<target>.dict;
#      crash/leak/timeout/oom inputs land in $FUZZ_DIR/artifacts/, logs in $FUZZ_DIR/logs/.
# Prints one summary line per target and exits 1 if any target crashed or a regression failed.
set -u
secs=${1:?usage: run_fuzz.sh SECONDS TARGET...}
shift
dir=${FUZZ_DIR:-build-fuzz}
extra=${FUZZ_ARGS:-}
mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/logs"

max_len() {
    case "$1" in
    fuzz_safetensors) echo 16384 ;;
    fuzz_gguf) echo 65536 ;;
    fuzz_config) echo 4096 ;;
    fuzz_tokenizer_json) echo 65536 ;;
    fuzz_encode) echo 4096 ;;
    fuzz_decode) echo 4096 ;;
    fuzz_model_load) echo 65536 ;;
    *) echo 4096 ;;
    esac
}

status=0
summary=()
for t in "$@"; do
    bin="$dir/$t"
    if [ ! -x "$bin" ]; then
        summary+=("$(printf '%-20s MISSING (%s not built)' "$t" "$bin")")
        status=1
        continue
    fi
    # 1. regressions
    reg_res="none"
    regs=(tests/data/fuzz/regressions/"$t"-*)
    if [ -e "${regs[0]}" ]; then
        nfail=0
        for r in "${regs[@]}"; do
            if ! "$bin" -rss_limit_mb=2048 -timeout=60 "$r" >"$dir/logs/$t.regress.$(basename "$r").log" 2>&1; then
                nfail=$((nfail + 1))
                echo "REGRESSION $t: $r crashes (log: $dir/logs/$t.regress.$(basename "$r").log)" >&2
                grep -m3 -E "ERROR: |runtime error|FUZZ_CHECK|SUMMARY" "$dir/logs/$t.regress.$(basename "$r").log" | sed 's/^/    /' >&2
            fi
        done
        reg_res="${#regs[@]} replayed, $nfail failing"
        [ "$nfail" -eq 0 ] || status=1
    fi
    # 2. fuzz
    corpus="$dir/corpus/$t"
    [ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
    mkdir -p "$corpus"
    [ -d "tests/data/fuzz/$t" ] && cp -n tests/data/fuzz/"$t"/* "$corpus"/ 2>/dev/null
    dict=()
    [ -f "fuzz/dicts/$t.dict" ] && dict=("-dict=fuzz/dicts/$t.dict")
    log="$dir/logs/$t.log"
    echo "== $t: fuzzing for ${secs}s (corpus $corpus, log $log)" >&2
    # shellcheck disable=SC2086
    "$bin" "$corpus" "${dict[@]}" -max_total_time="$secs" -max_len="$(max_len "$t")" -rss_limit_mb=2048 \
        -timeout=60 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" $extra >"$log" 2>&1
    rc=$?
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    [ -n "$execs" ] || execs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
    ncorp=$(find "$corpus" -type f | wc -l)
    if [ "$rc" -eq 0 ]; then
        res="OK"
    else
        status=1
        art=$(grep -m1 -oE "Test unit written to [^ ]+" "$log" | sed 's/Test unit written to //')
        kind=$(grep -m1 -oE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [a-zA-Z-]+|runtime error: [^:]*|FUZZ_CHECK failed[^:]*" "$log")
        res="CRASH rc=$rc ${kind:-} ${art:+-> $art}"
        grep -m8 -E "ERROR: |runtime error|FUZZ_CHECK|^  |SUMMARY|#[0-9]+ 0x.* in (lf_|tok_|load|read_|rd_|widen|skip_|decode|encode)" "$log" | head -12 | sed 's/^/    /' >&2
    fi
    summary+=("$(printf '%-20s %4ss  execs %-10s corpus %-6s regressions: %-22s result: %s' "$t" "$secs" "${execs:-?}" "$ncorp" "$reg_res" "$res")")
done
echo "---- fuzz summary (logs in $dir/logs) ----"
for l in "${summary[@]}"; do echo "$l"; done
exit $status
