#!/usr/bin/env bash
# gpu_session12d.sh — one nvidia-h200-x2 call: pipeline parallelism (issue 5).
#   - correctness: tests/cuda/test_tp --pp 2 against one GPU (8 prompts x 32 greedy steps, last
#     logits), fp16 and bf16, the kernels timed per stage (default) and fixed (LF_CUDA_TUNE=0),
#     micro-batches auto and 2; the same test's TPOT at bs 1 (naive split);
#   - the process model: `linfer generate --pp 2` greedy ids against --pp 1;
#   - the seed's finding (seed 000 4.3): llama-2-13b, one GPU vs PP 2 naive (--pp-micro 1) vs
#     pipelined (--pp-micro 2 and 4), batch 1, 8, 32, in 512, out 32: TTFT, TPOT, tok/s.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
T=build-dev/tests/cuda/test_tp
{
echo "== test_tp --pp 2 (fp16, timed kernels, auto micro-batches; speed at bs 1)"
timeout 150 $R $T --model llama-2-13b --tp 1 --pp 2 --dtype f16 --steps 32 2>&1 | grep -E "^TP|^PP|test_tp|fail"
echo "== fp16, LF_CUDA_TUNE=0 (the same kernels on every GPU), micro 2"
LF_CUDA_TUNE=0 timeout 120 $R $T --model llama-2-13b --tp 1 --pp 2 --pp-micro 2 --dtype f16 --steps 32 --no-speed 2>&1 | grep -E "^PP|test_tp|fail"
echo "== bf16, timed kernels, micro 2"
timeout 120 $R $T --model llama-2-13b --tp 1 --pp 2 --pp-micro 2 --dtype bf16 --steps 32 --no-speed 2>&1 | grep -E "^PP|test_tp|fail"
echo "== bf16, LF_CUDA_TUNE=0, auto"
LF_CUDA_TUNE=0 timeout 120 $R $T --model llama-2-13b --tp 1 --pp 2 --dtype bf16 --steps 32 --no-speed 2>&1 | grep -E "^PP|test_tp|fail"
echo "== generate --pp 2 vs --pp 1 (CLI, process per GPU)"
G="$L generate -m llama-2-13b --device cuda --batch 4 --in 32 -n 32 --print-ids --quiet"
$R $G > "$OUT/ids_pp1.txt" 2> "$OUT/err_pp1.txt"; echo "pp 1 rc=$?"
$R $G --pp 2 > "$OUT/ids_pp2.txt" 2> "$OUT/err_pp2.txt"; echo "pp 2 rc=$?"; tail -2 "$OUT/err_pp2.txt"
if diff <(grep '^ids' "$OUT/ids_pp1.txt") <(grep '^ids' "$OUT/ids_pp2.txt") > /dev/null; then echo "greedy ids PP2 == PP1 (4 prompts x 32)"; else echo "greedy ids differ"; fi
echo "== bench: one GPU vs PP 2 naive vs pipelined"
B="$L bench -m llama-2-13b --batch 1,8,32 --in 512 --out 32 --warmup 1 --reps 3 --no-progress"
$R $B --json "$OUT/bench_pp1.json" > "$OUT/bench_pp1.txt" 2>&1; echo "one GPU rc=$?"
for m in 1 2 4; do $R $B --pp 2 --pp-micro $m --json "$OUT/bench_pp2_m$m.json" > "$OUT/bench_pp2_m$m.txt" 2>&1; echo "pp 2 micro $m rc=$?"; done
for f in bench_pp1 bench_pp2_m1 bench_pp2_m2 bench_pp2_m4; do echo "## $f"; grep -E "^fp16|pipeline" "$OUT/$f.txt"; done
} > "$OUT/d.log" 2>&1
cat "$OUT/d.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name d.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
