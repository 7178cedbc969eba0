#!/usr/bin/env bash
# gpu_session12e.sh — one nvidia-h200-x4 call: pipeline x tensor parallelism (issue 5).
#   - tests/cuda/test_tp: TP 2 and 4 again (the step code was reorganised for the pipeline), PP 4,
#     PP 2 x TP 2 (4 GPUs), fp16, against one GPU;
#   - `linfer generate --pp 2 --tp 2` greedy ids against one GPU (process model, 4 processes);
#   - llama-2-13b bench at batch 1 and 32 (in 512, out 32): TP 4, PP 4, PP 2 x TP 2.
# Run twice in session 12: the first run found PP x TP refused at backend creation (fixed); the
# second (SECOND_RUN=1) ran only what the first had not measured.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
T=build-dev/tests/cuda/test_tp
{
if [ -z "${SECOND_RUN:-}" ]; then
echo "== test_tp: TP 2, 4 and PP 4 (fp16, fixed kernels), speed at bs 1"
LF_CUDA_TUNE=0 timeout 200 $R $T --model llama-2-13b --tp 2,4 --pp 4 --dtype f16 --steps 32 2>&1 | grep -E "^TP|^PP|test_tp|fail"
fi
echo "== test_tp: PP 2 x TP 2 (fp16, fixed kernels), speed at bs 1"
LF_CUDA_TUNE=0 timeout 150 $R $T --model llama-2-13b --tp 1 --pp 2 --pp-tp 2 --dtype f16 --steps 32 2>&1 | grep -E "^TP|^PP|test_tp|fail"
echo "== test_tp: PP 2 x TP 2 (fp16, timed kernels, 2 micro-batches)"
timeout 150 $R $T --model llama-2-13b --tp 1 --pp 2 --pp-tp 2 --pp-micro 2 --dtype f16 --steps 32 --no-speed 2>&1 | grep -E "^PP|test_tp|fail"
echo "== generate --pp 2 --tp 2 vs one GPU (CLI, 4 processes)"
G="$L generate -m llama-2-13b --device cuda --batch 4 --in 32 -n 32 --print-ids --quiet"
LF_CUDA_TUNE=0 $R $G > "$OUT/ids_1.txt" 2> "$OUT/err_1.txt"; echo "one GPU rc=$?"
LF_CUDA_TUNE=0 $R $G --pp 2 --tp 2 > "$OUT/ids_pp2tp2.txt" 2> "$OUT/err_pp2tp2.txt"; echo "pp 2 x tp 2 rc=$?"; tail -2 "$OUT/err_pp2tp2.txt"
if diff <(grep '^ids' "$OUT/ids_1.txt") <(grep '^ids' "$OUT/ids_pp2tp2.txt") > /dev/null; then echo "greedy ids PP2xTP2 == one GPU (4 prompts x 32)"; else
  echo "greedy ids differ:"; paste -d'\n' <(grep '^ids' "$OUT/ids_1.txt" | cut -c1-120) <(grep '^ids' "$OUT/ids_pp2tp2.txt" | cut -c1-120); fi
echo "== bench llama-2-13b in 512 out 32: TP 4, PP 4, PP 2 x TP 2"
B="$L bench -m llama-2-13b --batch 1,32 --in 512 --out 32 --warmup 1 --reps 3 --no-progress"
if [ -z "${SECOND_RUN:-}" ]; then
$R $B --tp 4 --json "$OUT/bench_tp4.json" > "$OUT/bench_tp4.txt" 2>&1; echo "tp 4 rc=$?"
$R $B --pp 4 --json "$OUT/bench_pp4.json" > "$OUT/bench_pp4.txt" 2>&1; echo "pp 4 rc=$?"
fi
$R $B --pp 2 --tp 2 --json "$OUT/bench_pp2tp2.json" > "$OUT/bench_pp2tp2.txt" 2>&1; echo "pp 2 x tp 2 rc=$?"
for f in bench_tp4 bench_pp4 bench_pp2tp2; do [ -f "$OUT/$f.txt" ] || continue; echo "## $f"; grep -E "^fp16|pipeline|rror" "$OUT/$f.txt"; done
} > "$OUT/e.log" 2>&1
cat "$OUT/e.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name e.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
