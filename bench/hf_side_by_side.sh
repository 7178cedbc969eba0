#!/usr/bin/env bash
# hf_side_by_side.sh — linfer against HF transformers (eager, and static cache + torch.compile) on
# the same GPU in the same run: LLaMA-2-7B shape, fp16, random weights, greedy, EOS ignored.
# Runs on the device machine with .peers/ (a copy of ../shared/peers: make_model.py, hf_bench.py)
# and the device bundle carried:
#   carry: build-dev/linfer build-dev/lib .peers
#   bash bench/hf_side_by_side.sh [POINTS]        POINTS: bs:in:out,... (default 1:128:128,8:128:128,32:128:128)
# HF's TPOT is (e2e(out) - e2e(1)) / (out - 1), medians of 3 (hf_bench.py); linfer's is its
# bench median over decode steps and repetitions. Prints one table; logs and JSON in $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
POINTS=${1:-1:128:128,8:128:128,32:128:128}
M=/tmp/hf-llama2-7b
[ -d "$M" ] || python3 .peers/make_model.py "$M" 7b fp16 > "$OUT/hf_make.log" 2>&1 || { echo "make_model failed"; tail "$OUT/hf_make.log"; exit 1; }
PYTHONUNBUFFERED=1 python3 .peers/hf_bench.py "$M" --points "$POINTS" > "$OUT/hf_eager.jsonl" 2> "$OUT/hf_eager.err"
PYTHONUNBUFFERED=1 python3 .peers/hf_bench.py "$M" --compile --points "$POINTS" > "$OUT/hf_compile.jsonl" 2> "$OUT/hf_compile.err"
: > "$OUT/linfer_points.txt"
for p in ${POINTS//,/ }; do
  IFS=: read -r bs n_in n_out <<< "$p"
  bash scripts/device_run.sh cmd build-dev/linfer bench -m llama-2-7b --device cuda --batch "$bs" --in "$n_in" --out "$n_out" \
      --warmup 2 --reps 5 --no-progress --json "$OUT/linfer_${bs}_${n_in}_${n_out}.json" >> "$OUT/linfer_bench.log" 2>&1
  echo "$bs $n_in $n_out $OUT/linfer_${bs}_${n_in}_${n_out}.json" >> "$OUT/linfer_points.txt"
done
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
def load(fn):
    d = {}
    if os.path.exists(fn):
        for line in open(fn):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line); d[(r["bs"], r["n_in"], r["n_out"])] = r
    return d
eager, comp = load(f"{out}/hf_eager.jsonl"), load(f"{out}/hf_compile.jsonl")
print(f"{'bs':>4} {'in':>5} {'out':>4} | {'TPOT ms: linfer':>15} {'HF eager':>9} {'HF compile':>10} | {'x eager':>7} {'x compile':>9} | {'TTFT ms: linfer':>15} {'HF eager':>9} {'HF compile':>10}")
for line in open(f"{out}/linfer_points.txt"):
    bs, n_in, n_out, fn = line.split()
    key = (int(bs), int(n_in), int(n_out))
    try:
        pt = json.load(open(fn))["points"][0]
    except Exception as e:
        print(f"{bs:>4} {n_in:>5} {n_out:>4} | linfer failed: {e}"); continue
    lt, lf = pt.get("tpot_p50_ms", pt.get("tpot_ms")), pt.get("ttft_ms")
    e, c = eager.get(key, {}), comp.get(key, {})
    f = lambda v: f"{v:.3f}" if isinstance(v, (int, float)) else "-"
    r = lambda a, b: f"{b / a:.2f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 else "-"
    print(f"{bs:>4} {n_in:>5} {n_out:>4} | {f(lt):>15} {f(e.get('tpot_ms')):>9} {f(c.get('tpot_ms')):>10} | {r(lt, e.get('tpot_ms')):>7} {r(lt, c.get('tpot_ms')):>9} | {f(lf):>15} {f(e.get('ttft_ms')):>9} {f(c.get('ttft_ms')):>10}")
PY
