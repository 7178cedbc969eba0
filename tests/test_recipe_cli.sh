#!/usr/bin/env bash
# test_recipe_cli.sh LINFER — `linfer bench --recipe` on the CPU: bad input is refused before
# anything runs (one-line error naming the culprit, exit 2, no table printed); small recipes run
# (shrunk by explicit options) and end with their conclusion lines, which also go into the JSON
# and CSV. Models: the tiny HF model of tests/data (fast) and the smollm2-135m preset (random
# weights); each case stays well under 20 s on 2 cores. Prints "recipe-cli: N ok, N bad".
set -u
bin=${1:-build/linfer}
ok=0; bad=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tiny=tests/data/hf/tiny-gqa
pass() { ok=$((ok + 1)); }
fail() { bad=$((bad + 1)); echo "FAIL $*"; }

# expect_refused NAME PATTERN -- CMD...: exit 2, stderr matches PATTERN on one line that names
# linfer, and nothing ran (no results table on stdout)
expect_refused() {
  local name=$1 pat=$2; shift 3
  local out rc
  out=$(timeout 60 "$@" 2>"$tmp/err"); rc=$?
  local err; err=$(cat "$tmp/err")
  if [ $rc -eq 2 ] && echo "$err" | grep -qE -- "$pat" && echo "$err" | grep -q '^linfer: ' && ! echo "$out" | grep -q 'ttft_ms'; then
    pass
  else
    fail "$name: rc=$rc stderr: $err stdout: ${out:0:300}"
  fi
}
# expect_run NAME -- CMD...: exit 0; output kept in $tmp/out for the checks that follow
expect_run() {
  local name=$1; shift 2
  timeout 120 "$@" >"$tmp/out" 2>&1; local rc=$?
  if [ $rc -eq 0 ]; then pass; else fail "$name: rc=$rc out: $(head -c 600 "$tmp/out")"; fi
}
# has NAME PATTERN FILE: grep -E
has() { if grep -qE -- "$2" "$3"; then pass; else fail "$1: no /$2/ in $3: $(head -c 400 "$3")"; fi; }

# one CPU calibration for all runs (instead of a quick measurement in each)
"$bin" calibrate --cpu --quick --calib "$tmp/calib.txt" >/dev/null 2>&1 || echo "recipe-cli: note: calibrate --cpu failed; runs measure quickly"
cal=(--calib "$tmp/calib.txt")
[ -s "$tmp/calib.txt" ] || cal=()

# ---- refusals: before anything runs -----------------------------------------------------------
expect_refused unknown-recipe "--recipe 'exp9': unknown recipe \(known: exp1, exp2, exp3, exp4, ds-table\)" -- "$bin" bench --recipe exp9
expect_refused heads-not-divisible "recipe exp3: --tp 2: smollm2-135m's 9 attention heads are not divisible by 2" -- \
  "$bin" bench --recipe exp3 -m smollm2-135m
expect_refused tp-above-node "recipe exp3: --tp 16: larger than the 8 GPUs of one v100-32 node" -- \
  "$bin" bench --recipe exp3 -m llama-2-70b --tp 1,16
expect_refused tp-not-pow2 "--tp 3: tensor parallelism must be a power of two" -- "$bin" bench --recipe exp3 -m "$tiny" --tp 1,3
expect_refused nothing-to-run "--tp 2,4: nothing to run: the engine runs TP 1 only" -- "$bin" bench --recipe exp3 -m "$tiny" --tp 2,4
expect_refused tp-without-recipe-on-cpu "--tp 2 needs the CUDA backend" -- "$bin" bench --device cpu -m "$tiny" --tp 2
expect_refused two-dtypes "--recipe exp1 --dtype fp32,fp32: a recipe runs one dtype" -- "$bin" bench --recipe exp1 --dtype fp32,fp32
expect_refused bad-tp-list "--tp" -- "$bin" bench --recipe exp3 -m "$tiny" --tp 1,x
expect_refused context "exceeds" -- "$bin" bench --recipe exp2 -m "$tiny" --in 500 --out 100

# ---- help ---------------------------------------------------------------------------------------
"$bin" bench --help >"$tmp/out" 2>&1
has help-recipe '--recipe NAME .*\(exp1, exp2, exp3, exp4, ds-table\)' "$tmp/out"
has help-tp '--tp LIST' "$tmp/out"

# ---- exp1 on smollm2-135m (the issue's example, shrunk: one batch, 4 output tokens) ------------------
expect_run exp1-smollm2 -- "$bin" bench --recipe exp1 -m smollm2-135m --batch 1 --in 8,16 --out 4 --reps 1 --warmup 0 --no-progress \
  "${cal[@]}" --json "$tmp/e1.json" --csv "$tmp/e1.csv"
has exp1-header '^recipe exp1: latency over input length x batch' "$tmp/out"
has exp1-conclusion '^  1\. seed says input length barely changes latency .*; measured: .*; roofline: .*; (AGREES|DISAGREES|INCONCLUSIVE)$' "$tmp/out"
has exp1-json-recipe '"recipe": "exp1"' "$tmp/e1.json"
has exp1-json-source '"recipe_source": "seed 000' "$tmp/e1.json"
has exp1-json-conclusions '"verdict": "(AGREES|DISAGREES|INCONCLUSIVE)"' "$tmp/e1.json"
has exp1-json-points '"points": 2' "$tmp/e1.json"
has exp1-csv-header ',recipe,conclusions$' "$tmp/e1.csv"
has exp1-csv-row ',exp1,"?seed says input length' "$tmp/e1.csv"
if ls "$tmp" | grep -qE '\.(tmp|bench)$'; then fail "temporary files left: $(ls "$tmp")"; else pass; fi

# ---- exp3 on the tiny model: TP 2 and 4 not run, predicted on the seed's GPU ------------------------
expect_run exp3-tiny -- "$bin" bench --recipe exp3 -m "$tiny" --batch 1,2,4 --reps 1 --warmup 1 --no-progress "${cal[@]}" --json "$tmp/e3.json"
has exp3-skipped "TP 2, 4 not run: recipes run TP 1 only.*predicts them on v100-32" "$tmp/out"
has exp3-tp-table '^roofline for every TP asked' "$tmp/out"
has exp3-three-lines '^  3\. seed says tok/s grows with TP' "$tmp/out"
has exp3-roofline-only '^  1\. seed says latency falls as TP .* \(roofline only\)$' "$tmp/out"
has exp3-json-skipped '"recipe_skipped": "TP 2, 4 not run' "$tmp/e3.json"
has exp3-json-table '"recipe_table": \[' "$tmp/e3.json"

# ---- exp2, exp4, ds-table on the tiny model ------------------------------------------------------
expect_run exp2-tiny -- "$bin" bench --recipe exp2 -m "$tiny" --batch 1,2 --in 16 --out 8,32 --reps 1 --warmup 1 --no-progress "${cal[@]}"
has exp2-conclusion '^  1\. seed says at a fixed input length the output length does not change latency' "$tmp/out"
expect_run exp4-tiny -- "$bin" bench --recipe exp4 -m "$tiny" --batch 1,4 --in 16,64 --out 8 --reps 1 --warmup 0 --no-progress "${cal[@]}"
has exp4-memory '^  1\. seed says peak GPU memory .*measured: in 64, out 8: device memory' "$tmp/out"
has exp4-gpus '^  2\. seed says doubling the GPUs does not halve the memory per GPU' "$tmp/out"
expect_run ds-table-tiny -- "$bin" bench --recipe ds-table -m "$tiny" --batch 1,8 --out 16 --reps 1 --warmup 1 --no-progress "${cal[@]}"
has ds-table-table '^ +128 +0\.27 ' "$tmp/out"
has ds-table-seed-setup '^  2\. seed says 19\.33, 2\.42.*bloom-7b1, TP 8 on rtx-a6000' "$tmp/out"
# --hw none: no predictions, said so in the conclusions
expect_run exp1-hw-none -- "$bin" bench --recipe exp1 -m "$tiny" --batch 1 --in 8,16 --reps 1 --warmup 0 --no-progress --hw none
has exp1-hw-none 'roofline: no ceilings \(--hw none\)' "$tmp/out"

echo "recipe-cli: $ok ok, $bad bad"
[ $bad -eq 0 ]
