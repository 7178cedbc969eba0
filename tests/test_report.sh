#!/usr/bin/env bash
# test_report.sh LINFER — `linfer profile` and `linfer report` end to end on the CPU: a small bench
# sweep of the smollm2-135m preset (random weights), a profile, roofline --per-op JSON, then the
# HTML report: every chart the report says it drew is in the page as an embedded SVG image, charts
# without inputs are skipped with a note, bad inputs give a one-line error naming the file, and the
# page renders non-blank in headless Chromium (pixel check of the screenshot in python3). Missing
# gnuplot or a Chromium that cannot run are reported as SKIP lines, never as passes.
# Prints "report: N ok, M bad" (counted by tests/run_tests.sh).
set -u
bin=${1:-build/linfer}
ok=0; bad=0; skipped=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { ok=$((ok + 1)); }
fail() { bad=$((bad + 1)); echo "FAIL $1"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1 ***"; }

# run NAME CMD...: exit 0 expected; output kept in $tmp/NAME.out
run() {
  local name=$1; shift
  if timeout 600 "$@" > "$tmp/$name.out" 2>&1; then pass; else fail "$name: rc=$? $(tail -3 "$tmp/$name.out")"; fi
}
# expect_fail NAME PATTERN -- CMD...: non-zero exit < 124, a single stderr line matching PATTERN
expect_fail() {
  local name=$1 pat=$2; shift 3
  local err rc
  err=$(timeout 60 "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 124 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && echo "$err" | grep -qE "$pat"; then pass
  else fail "$name: rc=$rc stderr: $err"; fi
}

have_gnuplot=1
command -v gnuplot >/dev/null 2>&1 || { have_gnuplot=0; skip "gnuplot not installed (apt-get install gnuplot-nox): chart checks skipped"; }

# ---- results: ceilings once, a bench sweep, a profile, roofline JSON --------------------------------
run calibrate "$bin" calibrate --cpu --quick --calib "$tmp/calib.txt"
run bench "$bin" bench -m smollm2-135m --device cpu --batch 1,2 --in 8,16 --out 4 --warmup 0 --reps 1 \
    --calib "$tmp/calib.txt" --json "$tmp/bench.json" --no-progress
run profile "$bin" profile -m smollm2-135m --batch 1 --in 16 --out 6 --warmup 0 --reps 1 --calib "$tmp/calib.txt" \
    --json "$tmp/profile.json" --csv "$tmp/profile.csv"
run roofline "$bin" roofline -m smollm2-135m --gpu H100-SXM --batch 1,2 --in 8,16 --out 4 --per-op --format json -o "$tmp/roofline.json"
# the profile's text: a TPOT line with both figures, three phases, sorted by lost time
if grep -qE '^TPOT profiled [0-9.]+ ms, un-profiled [0-9.]+ ms' "$tmp/profile.out" && [ "$(grep -cE '^(prefill|decode_early|decode_late): ' "$tmp/profile.out")" -eq 3 ] \
   && grep -q 'other/host-gaps' "$tmp/profile.out"; then pass; else fail "profile text: $(head -5 "$tmp/profile.out")"; fi
python3 - "$tmp/profile.json" <<'EOF' && pass || fail "profile json: sums or order"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["kind"] == "profile" and j["meta"]["tpot_unprofiled_ms"] > 0 and j["meta"]["tpot_profiled_ms"] > 0
assert [p["phase"] for p in j["phases"]] == ["prefill", "decode_early", "decode_late"]
for p in j["phases"]:
    cats = [o for o in p["ops"] if o["op"] != "other"]
    assert abs(sum(o["ms"] for o in cats) - p["step_ms"]) <= 0.05 * p["step_ms"], p["phase"]   # the 5% bar
    lost = [o["lost_ms"] for o in p["ops"]]
    assert lost == sorted(lost, reverse=True), p["phase"]
EOF

# ---- the report ------------------------------------------------------------------------------------
run report "$bin" report "$tmp/bench.json" "$tmp/roofline.json" "$tmp/profile.json" -o "$tmp/report.html" --title "test report"
cat "$tmp/report.out"
expected="exp1 exp2 exp3 exp4 pred roofline-3 op-share"
if [ $have_gnuplot -eq 1 ]; then
  for id in $expected; do
    grep -qE "^  chart $id +ok$" "$tmp/report.out" && pass || fail "chart $id not drawn: $(grep " $id " "$tmp/report.out")"
  done
fi
# every chart the report says it drew is in the page as a decodable SVG; every skipped one has its note
python3 - "$tmp/report.html" "$tmp/report.out" <<'EOF' && pass || fail "charts in the HTML"
import base64, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
said = open(sys.argv[2]).read()
drawn = re.findall(r"^  chart (\S+) +ok$", said, re.M)
skipped = re.findall(r"^  chart (\S+) +skipped: ", said, re.M)
figs = dict(re.findall(r'<figure id="chart-([^"]+)"><img class="chart"[^>]*src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', html))
assert set(figs) == set(drawn) - {"ds-table"}, (sorted(figs), drawn)     # ds-table is an HTML table
if "ds-table" in drawn: assert '<section class="chart" id="chart-ds-table">' in html
for cid, b in figs.items():
    svg = base64.b64decode(b, validate=True).decode("utf-8")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and svg.count("<path") >= 5, cid
for cid in skipped:
    assert f'id="skip-{cid}"' in html and "skipped: " in html, cid
assert 'src="http' not in html and "<script" not in html          # self-contained
assert "Bench points" in html and "Profiles (per phase" in html and "Roofline points" in html
print(f"report: {len(figs)} embedded charts ({', '.join(sorted(figs))}), {len(skipped)} skipped")
EOF

# charts without inputs are skipped with a note, never a crash
run report-roofline-only "$bin" report "$tmp/roofline.json" -o "$tmp/r2.html"
if grep -qE '^  chart exp1 +skipped: needs linfer bench' "$tmp/report-roofline-only.out" && grep -q 'id="skip-exp1"' "$tmp/r2.html" \
   && grep -q 'id="skip-roofline"' "$tmp/r2.html"; then pass; else fail "roofline-only report: $(cat "$tmp/report-roofline-only.out")"; fi
run report-no-gnuplot "$bin" report "$tmp/bench.json" -o "$tmp/r3.html" --gnuplot "$tmp/no-such-gnuplot"
grep -qE 'skipped: gnuplot not (run|found)' "$tmp/report-no-gnuplot.out" && grep -q 'Bench points' "$tmp/r3.html" && pass \
  || fail "report without gnuplot: $(cat "$tmp/report-no-gnuplot.out")"
# recipes: a result of recipe exp2 feeds only exp2 (here: nothing), ds-table gets its table
printf '{"kind": "bench", "meta": {"recipe": "exp2"}, "points": []}' > "$tmp/empty-exp2.json"
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); j["meta"]["recipe"] = "ds-table"; json.dump(j, open(sys.argv[2], "w"))' \
  "$tmp/bench.json" "$tmp/ds.json"
run report-recipes "$bin" report "$tmp/empty-exp2.json" "$tmp/bench.json" "$tmp/ds.json" -o "$tmp/r4.html"
grep -qE '^  chart exp2 +skipped: no ok bench points of recipe exp2' "$tmp/report-recipes.out" \
  && grep -qE '^  chart exp1 +(ok|skipped: gnuplot)' "$tmp/report-recipes.out" && grep -qE '^  chart ds-table +ok' "$tmp/report-recipes.out" \
  && [ "$(grep -c '<td>smollm2-135m</td>' "$tmp/r4.html")" -ge 4 ] && pass || fail "recipe selection: $(cat "$tmp/report-recipes.out")"

# two models in one chart (e.g. exp3 of llama-2-13b and llama-2-70b): each line is named by its model,
# never one line through both models' points
python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); j["meta"]["model"] = "other-model"; json.dump(j, open(sys.argv[2], "w"))' \
  "$tmp/bench.json" "$tmp/other.json"
if [ $have_gnuplot -eq 1 ]; then
  run report-two-models "$bin" report "$tmp/bench.json" "$tmp/other.json" -o "$tmp/r5.html" --keep-dir "$tmp/k5"
  if grep -q "title 'smollm2-135m in=8'" "$tmp/k5/exp1.gp" && grep -q "title 'other-model in=8'" "$tmp/k5/exp1.gp" \
     && ! grep -q "title 'in=8'" "$tmp/k5/exp1.gp"; then pass; else fail "two models: $(grep -o "title '[^']*'" "$tmp/k5/exp1.gp" | head -6 | tr '\n' ' ')"; fi
fi

# bad input: one line naming the file
expect_fail missing-file 'no-such\.json.*cannot read' -- "$bin" report "$tmp/no-such.json" -o "$tmp/x.html"
printf 'not json at all' > "$tmp/text.json"
expect_fail not-json 'text\.json: not JSON' -- "$bin" report "$tmp/text.json" -o "$tmp/x.html"
printf '{"foo": 1}' > "$tmp/foo.json"
expect_fail unknown-kind 'foo\.json: unknown result kind' -- "$bin" report "$tmp/bench.json" "$tmp/foo.json" -o "$tmp/x.html"
printf '{"kind": "speedtest"}' > "$tmp/kind.json"
expect_fail unknown-kind-name "kind\.json: unknown result kind 'speedtest'" -- "$bin" report "$tmp/kind.json" -o "$tmp/x.html"
printf '{"kind": "profile"}' > "$tmp/nophases.json"
expect_fail profile-no-phases 'nophases\.json: a profile result without' -- "$bin" report "$tmp/nophases.json" -o "$tmp/x.html"
: > "$tmp/empty.json"
expect_fail empty-file 'empty\.json: empty file' -- "$bin" report "$tmp/empty.json" -o "$tmp/x.html"
expect_fail dir-input 'is a directory' -- "$bin" report "$tmp" -o "$tmp/x.html"
expect_fail no-output 'give -o' -- "$bin" report "$tmp/bench.json"
expect_fail unwritable-output 'no-dir/x\.html' -- "$bin" report "$tmp/bench.json" -o "$tmp/no-dir/x.html"
[ ! -e "$tmp/x.html" ] && pass || fail "a failed report left x.html behind"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  expect_fail profile-cuda-no-gpu 'CUDA' -- "$bin" profile -m smollm2-135m --device cuda --hw none
fi
expect_fail profile-tp-cpu 'needs the CUDA backend' -- "$bin" profile -m smollm2-135m --device cpu --tp 2
# bench --tp LIST: one sweep per degree (1 twice here), the JSON/CSV files merged
run bench-tp-list "$bin" bench -m smollm2-135m --device cpu --tp 1,1 --batch 1 --in 8 --out 4 --warmup 0 --reps 1 --hw none \
    --no-progress --json "$tmp/btp.json" --csv "$tmp/btp.csv"
if python3 -c "import json,sys; sys.exit(0 if len(json.load(open('$tmp/btp.json'))['points']) == 2 else 1)" \
   && [ "$(wc -l < "$tmp/btp.csv")" -eq 3 ] && [ -s "$tmp/btp.tp1.json" ]; then pass; else fail "bench --tp 1,1: $(tail -3 "$tmp/bench-tp-list.out")"; fi
# --tp LIST: one run per degree (here 1 twice: the CPU has no TP), files FILE.tp<N>.json, then the comparison
run profile-tp-list "$bin" profile -m smollm2-135m --device cpu --tp 1,1 --in 8 --out 4 --warmup 0 --reps 1 --hw none \
    --json "$tmp/ptp.json"
if [ -s "$tmp/ptp.tp1.json" ] && grep -q 'all_reduce_ms' "$tmp/profile-tp-list.out" \
   && [ "$(grep -cE '^ 1 +[0-9.]+ +[0-9.]+ +0\.0000' "$tmp/profile-tp-list.out")" -eq 2 ]; then pass
else fail "profile --tp 1,1: $(tail -4 "$tmp/profile-tp-list.out")"; fi
expect_fail profile-context "exceeds" -- "$bin" profile -m smollm2-135m --in 8000 --out 500 --hw none

# ---- headless Chromium: the page renders, and not blank -------------------------------------------
chrome=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$chrome" ]; then
  skip "chromium not installed (apt-get install chromium): the page was not rendered"
else
  rm -f "$tmp/shot.png"
  timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --no-first-run \
      --user-data-dir="$tmp/chrome-profile" --window-size=1200,3200 --screenshot="$tmp/shot.png" "file://$tmp/report.html" \
      > "$tmp/chrome.log" 2>&1
  crc=$?
  if [ ! -s "$tmp/shot.png" ]; then
    skip "chromium could not render (exit $crc): $(grep -v -e dbus -e '^$' "$tmp/chrome.log" | tail -2 | tr '\n' ' ')"
  else
    python3 - "$tmp/shot.png" $have_gnuplot <<'EOF' && pass || fail "screenshot blank or unreadable"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, hdr = 8, b"", None
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR": hdr = struct.unpack(">IIBBBBB", body)
    elif typ == b"IDAT": idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = hdr
assert depth == 8 and interlace == 0 and ctype in (2, 6), hdr
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows, i = bytearray(stride), [], 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        b = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line); prev = line
n = s = s2 = dark = colour = 0
for line in rows[::2]:
    for x in range(0, stride, bpp * 2):
        r, g, b = line[x], line[x + 1], line[x + 2]
        l = (299 * r + 587 * g + 114 * b) // 1000
        n += 1; s += l; s2 += l * l
        dark += l < 128
        colour += max(r, g, b) - min(r, g, b) > 80
var = s2 / n - (s / n) ** 2
print(f"screenshot {w}x{h}: luma variance {var:.0f}, dark {100 * dark / n:.2f}%, coloured {100 * colour / n:.2f}%")
assert var > 100 and dark > 0.002 * n, "blank page"
if sys.argv[2] == "1": assert colour > 0.002 * n, "no coloured chart pixels: the SVG images did not render"
EOF
  fi
fi

[ $skipped -eq 0 ] || echo "report: $skipped check(s) SKIPPED (see SKIP lines above)"
echo "report: $ok ok, $bad bad"
[ $bad -eq 0 ]
