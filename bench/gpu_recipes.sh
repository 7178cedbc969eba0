#!/usr/bin/env bash
# gpu_recipes.sh — the seed recipes of `linfer bench --recipe` on one GPU (issue 3), with the
# measured ceilings (calibrate first), 1 warm-up + 3 repetitions per point to fit one device call.
# JSON per recipe in $OUT (linfer report turns them into charts); conclusions in recipes.log.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
L="$OUT/recipes.log"
{
run build-dev/linfer calibrate > /dev/null 2>&1
for r in ${RECIPES:-ds-table exp1 exp3 exp4 exp2}; do
  echo "=================== recipe $r"
  run build-dev/linfer bench --recipe "$r" --device cuda --warmup 1 --reps 3 --no-progress --json "$OUT/recipe_$r.json" 2>&1 |
    grep -vE "^\s*$|^-----"
done
} > "$L" 2>&1
grep -E "recipe|AGREES|DISAGREES|INCONCLUSIVE|wrote" "$L"
