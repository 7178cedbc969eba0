#!/usr/bin/env bash
# run_tests.sh BUILD_DIR — run every cmocka test binary, the CLI and runtime-limits tests; print a closing
# "N passed, N failed" line (counted per test binary / CLI case) and exit non-zero on failure.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
pass=0; fail=0; failed=()
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  echo "=== $(basename "$t")"
  if "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$(basename "$t")"); fi
done
echo "=== CLI tests (tests/test_cli.sh)"
out=$(bash tests/test_cli.sh "$build/linfer" 2>&1); rc=$?
echo "$out"
cp=$(echo "$out" | sed -n 's/^cli: \([0-9]*\) ok, \([0-9]*\) bad$/\1 \2/p')
pass=$((pass + ${cp% *})); fail=$((fail + ${cp#* }))
[ $rc -eq 0 ] || failed+=("test_cli.sh")
echo "=== recipe CLI tests (tests/test_recipe_cli.sh)"
out=$(bash tests/test_recipe_cli.sh "$build/linfer" 2>&1); rc=$?
echo "$out"
cp=$(echo "$out" | sed -n 's/^recipe-cli: \([0-9]*\) ok, \([0-9]*\) bad$/\1 \2/p')
[ -n "$cp" ] || cp="0 1"
pass=$((pass + ${cp% *})); fail=$((fail + ${cp#* }))
[ $rc -eq 0 ] || failed+=("test_recipe_cli.sh")
echo "=== runtime limits tests (tests/test_runtime_limits.sh)"
out=$(bash tests/test_runtime_limits.sh "$build/linfer" 2>&1); rc=$?
echo "$out"
cp=$(echo "$out" | sed -n 's/^limits: \([0-9]*\) ok, \([0-9]*\) bad$/\1 \2/p')
[ -n "$cp" ] || cp="0 1"
pass=$((pass + ${cp% *})); fail=$((fail + ${cp#* }))
[ $rc -eq 0 ] || failed+=("test_runtime_limits.sh")
echo "=== report tests (tests/test_report.sh)"
out=$(bash tests/test_report.sh "$build/linfer" 2>&1); rc=$?
echo "$out"
cp=$(echo "$out" | sed -n 's/^report: \([0-9]*\) ok, \([0-9]*\) bad$/\1 \2/p')
[ -n "$cp" ] || cp="0 1"
pass=$((pass + ${cp% *})); fail=$((fail + ${cp#* }))
[ $rc -eq 0 ] || failed+=("test_report.sh")
[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ ${#failed[@]} -eq 0 ]
