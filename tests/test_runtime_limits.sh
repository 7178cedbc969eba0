#!/usr/bin/env bash
# test_runtime_limits.sh LINFER — runtime limits of `linfer generate` (and Ctrl-C in `linfer bench`)
# on the CPU: prompts longer than the context, batch x context larger than memory, bad numeric
# options, non-UTF-8 prompts, SIGINT. Each bad input must give a one-line message naming the
# culprit and a non-zero exit below 124 (2 for bad arguments), never a crash, a hang or an OOM
# kill; an interrupted generate exits 130 with its output so far flushed; an interrupted bench
# keeps its finished points in complete CSV/JSON files. Uses the random-weights preset
# smollm2-135m (no files needed) and, when present, models/SmolLM2-135M-Instruct.Q4_1.gguf for
# the cases that need a tokenizer. Prints "ok - ..." / "not ok - ..." per case and a count line.
# The cases and their messages are listed in docs/fuzzing.md, "Runtime limits".
set -u
bin=${1:-build/linfer}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
cd "$(dirname "$0")/.."
root=$(pwd)
ok=0; bad=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
model=$root/models/SmolLM2-135M-Instruct.Q4_1.gguf
preset=smollm2-135m
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

pass() { ok=$((ok + 1)); echo "ok - $1"; }
fail() { bad=$((bad + 1)); echo "not ok - $1: $2"; }

# expect_fail NAME RC PATTERN -- CMD...: exits with RC (or any non-zero exit below 124 if RC is
# '*'), stderr is one line mentioning linfer and matching PATTERN, stdout is empty.
expect_fail() {
  local name=$1 want=$2 pat=$3; shift 4
  local rc
  timeout 120 "$@" > "$tmp/out" 2> "$tmp/err"; rc=$?
  local err; err=$(cat "$tmp/err")
  local lines; lines=$(grep -c '' "$tmp/err")
  if { [ "$want" = '*' ] && [ $rc -ne 0 ] && [ $rc -lt 124 ]; } || [ "$rc" = "$want" ]; then :; else
    fail "$name" "exit $rc (want $want), stderr: ${err:0:300}"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$name" "stderr has $lines lines: ${err:0:300}"; return; fi
  if ! grep -q 'linfer' "$tmp/err" || ! grep -qE -- "$pat" "$tmp/err"; then fail "$name" "stderr does not match /$pat/: ${err:0:300}"; return; fi
  if [ -s "$tmp/out" ]; then fail "$name" "unexpected stdout: $(head -c 200 "$tmp/out")"; return; fi
  pass "$name"
}
expect_ok() {
  local name=$1 pat=$2; shift 3
  local out rc
  out=$(timeout 300 "$@" 2>&1); rc=$?
  if [ $rc -eq 0 ] && echo "$out" | grep -qE -- "$pat"; then pass "$name"; else fail "$name" "exit $rc, output: ${out:0:300}"; fi
}

G=("$bin" generate --device cpu)

# ---- numeric options: non-numeric, negative, out of range (exit 2, before anything runs) ----------
expect_fail n-zero 2 "-n expects an integer in \[1, [0-9]+\], got '0'" -- "${G[@]}" -m $preset -n 0
expect_fail n-negative 2 "-n expects an integer .* got '-5'" -- "${G[@]}" -m $preset -n -5
expect_fail n-abc 2 "-n expects an integer .* got 'abc'" -- "${G[@]}" -m $preset -n abc
expect_fail n-empty 2 "-n expects an integer .* got ''" -- "${G[@]}" -m $preset -n ''
expect_fail n-overflow 2 "-n expects an integer .* got '99999999999999999999'" -- "${G[@]}" -m $preset -n 99999999999999999999
expect_fail n-float 2 "-n expects an integer .* got '1.5'" -- "${G[@]}" -m $preset -n 1.5
expect_fail batch-1x 2 "--batch expects an integer in \[1, 4096\], got '1x'" -- "${G[@]}" -m $preset --batch 1x
expect_fail batch-zero 2 "--batch expects an integer .* got '0'" -- "${G[@]}" -m $preset --batch 0
expect_fail batch-huge 2 "--batch expects an integer .* got '5000'" -- "${G[@]}" -m $preset --batch 5000
expect_fail in-12abc 2 "--in expects an integer .* got '12abc'" -- "${G[@]}" -m $preset --in 12abc
expect_fail in-negative 2 "--in expects an integer .* got '-1'" -- "${G[@]}" -m $preset --in -1
expect_fail temperature-negative 2 "--temperature expects a number in \[0, 100\], got '-1'" -- "${G[@]}" -m $preset --temperature -1
expect_fail temperature-nan 2 "--temperature expects a number .* got 'nan'" -- "${G[@]}" -m $preset --temperature nan
expect_fail temperature-inf 2 "--temperature expects a number .* got 'inf'" -- "${G[@]}" -m $preset --temperature inf
expect_fail temperature-1e999 2 "--temperature expects a number .* got '1e999'" -- "${G[@]}" -m $preset --temperature 1e999
expect_fail temperature-text 2 "--temperature expects a number .* got 'hot'" -- "${G[@]}" -m $preset --temperature hot
expect_fail top-p-zero 2 "--top-p expects a number in \[1e-09, 1\], got '0'" -- "${G[@]}" -m $preset --top-p 0
expect_fail top-p-above-1 2 "--top-p expects a number .* got '1.5'" -- "${G[@]}" -m $preset --top-p 1.5
expect_fail top-p-nan 2 "--top-p expects a number .* got 'nan'" -- "${G[@]}" -m $preset --top-p nan
expect_fail top-k-negative 2 "--top-k expects an integer .* got '-1'" -- "${G[@]}" -m $preset --top-k -1
expect_fail top-k-float 2 "--top-k expects an integer .* got '2.5'" -- "${G[@]}" -m $preset --top-k 2.5
expect_fail seed-negative 2 "--seed expects an integer .* got '-1'" -- "${G[@]}" -m $preset --seed -1
expect_fail threads-zero 2 "--threads expects an integer .* got '0'" -- "${G[@]}" -m $preset --threads 0
expect_fail warmup-negative 2 "--warmup expects an integer .* got '-1'" -- "${G[@]}" -m $preset --warmup -1
expect_fail reps-zero 2 "--reps expects an integer .* got '0'" -- "${G[@]}" -m $preset --reps 0
expect_fail unknown-option-ctx 2 "unknown option --ctx" -- "${G[@]}" -m $preset --ctx 100000000
expect_fail missing-value 2 "option --in needs a value" -- "${G[@]}" -m $preset --in
expect_fail flag-with-value 2 "option --quiet=1 takes no value" -- "${G[@]}" -m $preset --quiet=1
expect_fail bad-device 2 "--device must be cpu or cuda, got 'tpu'" -- "$bin" generate -m $preset --device tpu
expect_fail bad-dtype 2 "--dtype must be fp16 or bf16, got 'fp8'" -- "${G[@]}" -m $preset --dtype fp8
expect_fail preset-with-prompt 2 "smollm2-135m is a preset .* not -p" -- "${G[@]}" -m $preset -p hello

# ---- prompt (+ -n) longer than the context: refused up front, exit 2 ------------------------------
expect_fail preset-prompt-fills-context 2 "--in 9000: .* no room in smollm2-135m's context of 8192 tokens" -- "${G[@]}" -m $preset --in 9000 -n 4
expect_fail preset-prompt-plus-n 2 "prompt of 8000 tokens \+ 400 new tokens exceeds the model's context of 8192 .*-n can be at most 192" -- \
  "${G[@]}" -m $preset --in 8000 -n 400

# ---- batch x context larger than memory: an error naming the sizes, not an OOM kill (exit 1) -------
expect_fail kv-larger-than-memory 1 "out of memory: .*(batch 4096 x context 4096 .*KV cache 720\.00 GiB|KV cache of 4096 sequences x 4096 positions needs)" -- \
  "${G[@]}" -m $preset --batch 4096 --in 4000 -n 96
avail_gib=$(awk '/^MemAvailable:/ {print int($2 / 1048576)}' /proc/meminfo)
if [ "${avail_gib:-0}" -lt 250 ]; then
  expect_fail weights-larger-than-memory 1 "out of memory: batch 1 x context 20 .*weights [0-9.]+ GiB.* GiB of host memory is available" -- \
    "${G[@]}" -m llama-2-70b --in 16 -n 4
else
  echo "ok - weights-larger-than-memory # skip: ${avail_gib} GiB available"; ok=$((ok + 1))
fi

# ---- valid sampling settings at the edges of their ranges are accepted --------------------------------
expect_ok sampling-edges 'generated tokens' -- "${G[@]}" -m $preset --in 4 -n 2 --temperature 100 --top-k 16777216 --top-p 1e-9 --seed 0

if [ -s "$model" ]; then
  # ---- context, with a real tokenizer ----
  expect_fail prompt-plus-n-too-long 2 "prompt of 6 tokens \+ 8190 new tokens exceeds the model's context of 8192 \(the prompt \(-p\); -n can be at most 8186 here\)" -- \
    "${G[@]}" -m "$model" -n 8190 -p "a b c d e f"
  long=$(printf 'hello world %.0s' $(seq 5000))
  expect_fail prompt-longer-than-context 2 "the prompt \(-p\) has [0-9]+ tokens, which leaves no room in the model's context of 8192" -- \
    "${G[@]}" -m "$model" -n 4 -p "$long"
  { echo "short prompt"; echo "$long"; } > "$tmp/long.txt"
  expect_fail batch-file-prompt-too-long 2 "long.txt line 2 \(prompt 2\) has [0-9]+ tokens, which leaves no room" -- \
    "${G[@]}" -m "$model" -n 4 --batch-file "$tmp/long.txt"
  expect_fail file-model-with-in 2 "--in only applies to preset models" -- "${G[@]}" -m "$model" --in 16
  seq 4097 > "$tmp/many.txt"
  expect_fail batch-file-too-many 2 "many.txt: 4097 prompts; one batch takes at most 4096" -- "${G[@]}" -m "$model" -n 4 --batch-file "$tmp/many.txt"
  # ---- non-UTF-8 prompts, from the command line and from a file ----
  expect_fail utf8-invalid-byte 2 "the prompt \(-p\): encode: invalid UTF-8 at byte offset 0 \(byte 0xFF\)" -- "${G[@]}" -m "$model" -n 4 -p $'\xff\xfe hi'
  expect_fail utf8-truncated 2 "the prompt \(-p\): encode: invalid UTF-8 at byte offset 3" -- "${G[@]}" -m "$model" -n 4 -p $'ok \xc3'
  expect_fail utf8-overlong 2 "invalid UTF-8 at byte offset 0" -- "${G[@]}" -m "$model" -n 4 -p $'\xc0\xaf'
  expect_fail utf8-surrogate 2 "invalid UTF-8 at byte offset 1" -- "${G[@]}" -m "$model" -n 4 -p $'a\xed\xa0\x80'
  printf 'good line\n\n\xc3\x28 bad\n' > "$tmp/bad.txt"
  expect_fail utf8-batch-file 2 "bad.txt line 3 \(prompt 2\): encode: invalid UTF-8 at byte offset 0 \(byte 0xC3\)" -- \
    "${G[@]}" -m "$model" -n 4 --batch-file "$tmp/bad.txt"
  printf 'nul\0byte\n' > "$tmp/nul.txt"
  expect_fail nul-batch-file 2 "nul.txt line 1: contains a NUL byte" -- "${G[@]}" -m "$model" -n 4 --batch-file "$tmp/nul.txt"
  printf '\n\r\n\n' > "$tmp/empty.txt"
  expect_fail empty-batch-file 2 "empty.txt: no prompts" -- "${G[@]}" -m "$model" -n 4 --batch-file "$tmp/empty.txt"
  expect_fail missing-batch-file 2 "no-such.txt: No such file" -- "${G[@]}" -m "$model" -n 4 --batch-file "$tmp/no-such.txt"
  expect_fail empty-prompt 2 "the prompt \(-p\) is empty \(0 tokens\)" -- "${G[@]}" -m "$model" -n 4 -p ''
else
  echo "limits: skipping tokenizer cases ($model not present; run scripts/fetch_model.sh)"
fi

# ---- SIGINT ----------------------------------------------------------------------------------------
# run_bg DIR CMD...: start CMD in DIR (stdout DIR.out, stderr DIR.err); pid in $bg
run_bg() { local d=$1; shift; mkdir -p "$d"; ( cd "$d" && exec "$@" ) > "$d.out" 2> "$d.err" & bg=$!; }
# wait_for FILE PATTERN SECONDS: until FILE matches PATTERN
wait_for() { local i; for ((i = 0; i < $3 * 10; i++)); do grep -qE -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
# finish PID SECONDS: wait for PID, killing it after SECONDS; sets $rc
finish() { local i; for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
           kill -0 "$1" 2>/dev/null && { kill -KILL "$1"; wait "$1"; rc=hung; return; }; wait "$1"; rc=$?; }

if [ -s "$model" ]; then
  # streamed text: what was generated before Ctrl-C is on stdout, exit 130, no files left behind
  d=$tmp/int-stream
  t0=$SECONDS
  run_bg "$d" "${G[@]}" -m "$model" -n 8000 --ignore-eos -p "Write a long story about the sea."
  if wait_for "$d.out" '.' 120; then sleep 0.5; fi
  t_first=$((SECONDS - t0 + 1))   # load + prefill here (longer under ASan): the batch case below waits 2x that
  kill -INT $bg; finish $bg 30
  if [ "$rc" = 130 ] && grep -qE '^linfer: interrupted \(SIGINT\) after [0-9]+ generated tokens of 8000 requested' "$d.err" &&
     [ "$(grep -c '' "$d.err")" -eq 1 ] && [ -s "$d.out" ] && [ "$(tail -c 1 "$d.out" | od -An -c | tr -d ' ')" = '\n' ] &&
     [ -z "$(ls -A "$d")" ]; then pass "sigint-generate-stream"
  else fail "sigint-generate-stream" "exit $rc, stderr: $(cat "$d.err"), stdout bytes: $(wc -c < "$d.out"), files: $(ls -A "$d")"; fi
  # a batch of prompts: the partial texts of every prompt are printed, then the message
  printf 'Tell me about the moon.\nTell me about the sun.\n' > "$tmp/two.txt"
  d=$tmp/int-batch
  run_bg "$d" "${G[@]}" -m "$model" -n 8000 --ignore-eos --batch-file "$tmp/two.txt" --print-ids
  sleep $((2 * t_first + 3))
  kill -INT $bg; finish $bg 30
  if [ "$rc" = 130 ] && grep -qE '^linfer: interrupted \(SIGINT\)' "$d.err" && grep -q '^--- \[2\] Tell me about the sun' "$d.out" &&
     grep -qE '^ids\[2\]: [0-9]' "$d.out" && [ -z "$(ls -A "$d")" ]; then pass "sigint-generate-batch"
  else fail "sigint-generate-batch" "exit $rc, stderr: $(cat "$d.err"), stdout: $(head -c 300 "$d.out")"; fi
fi
# preset (quiet): exit 130 and the message, whatever phase the signal lands in
d=$tmp/int-preset
run_bg "$d" "${G[@]}" -m $preset --in 16 -n 8000
sleep 4
kill -INT $bg; finish $bg 30
if [ "$rc" = 130 ] && grep -qE '^linfer: interrupted \(SIGINT\)' "$d.err" && [ "$(grep -c '' "$d.err")" -eq 1 ] && [ -z "$(ls -A "$d")" ]; then
  pass "sigint-generate-preset"
else fail "sigint-generate-preset" "exit $rc, stderr: $(cat "$d.err")"; fi
# a second Ctrl-C ends the process at once, even inside a long prefill (the first one is only seen
# between decode steps): an 8000-token prompt takes far longer than 1 s to prefill on the CPU
d=$tmp/int-twice
run_bg "$d" "${G[@]}" -m $preset --in 8000 -n 4
sleep 10
kill -INT $bg; sleep 1
if kill -0 $bg 2>/dev/null; then
  kill -INT $bg; finish $bg 5
  if [ "$rc" = 130 ] && [ ! -s "$d.err" ]; then pass "sigint-twice-kills"; else fail "sigint-twice-kills" "exit $rc (want death by SIGINT within 5 s), stderr: $(cat "$d.err")"; fi
else
  finish $bg 1
  if [ "$rc" = 130 ] && grep -q 'interrupted (SIGINT)' "$d.err"; then echo "ok - sigint-twice-kills # skip: the first Ctrl-C already ended it"; ok=$((ok + 1))
  else fail "sigint-twice-kills" "exit $rc after one Ctrl-C, stderr: $(cat "$d.err")"; fi
fi

# bench: Ctrl-C keeps the finished points; CSV/JSON complete (written atomically), no temp files
B=("$bin" bench -m $preset --device cpu --batch 1 --in 4 --warmup 0 --reps 1 --hw none --no-progress --csv r.csv --json r.json)
check_bench() { # NAME DIR POINTS-FINISHED POINTS
  local name=$1 d=$2 n=$3 np=$4
  if [ "$rc" = 130 ] && grep -q "interrupted: $n of $np points finished" "$d.err" && [ "$(grep -c '' "$d/r.csv" 2>/dev/null)" = $((n + 1)) ] &&
     python3 -c "import json,sys; sys.exit(len(json.load(open('$d/r.json'))['points']) != $n)" 2>/dev/null &&
     [ "$(ls -A "$d" | tr '\n' ' ')" = "r.csv r.json " ]; then pass "$name"
  else fail "$name" "exit $rc, stderr: $(tr '\n' '|' < "$d.err"), files: $(ls -A "$d" | tr '\n' ' ')"; fi
}
# one Ctrl-C during point 2 of 4: "stops after this point", so exactly 2 points (lf_bench_run
# checks for the stop after every point, also when it lands in a point's last repetition)
d=$tmp/bench-once
run_bg "$d" "${B[@]}" --out 2,8,3,4
if wait_for "$d.out" '^fp32 +1 +4 +2 ' 300; then kill -INT $bg; fi
finish $bg 300
check_bench sigint-bench-stops-after-this-point "$d" 2 4
# two Ctrl-C: the point in progress (8000 tokens) is abandoned, point 1 is kept
d=$tmp/bench-twice
run_bg "$d" "${B[@]}" --out 2,8000,3
if wait_for "$d.out" '^fp32 +1 +4 +2 ' 300; then sleep 3; kill -INT $bg; sleep 0.5; kill -INT $bg; fi
finish $bg 120
check_bench sigint-bench-abandons-point "$d" 1 3

echo "limits: $ok ok, $bad bad"
[ $bad -eq 0 ]
