#!/usr/bin/env bash
# gpu_session12b.sh — the second nvidia-h200-x4 call of session 12.
#   A (fuzz_encode and fuzz_decode on the host's cores beside it — they did not start in call a):
#      CUPTI profile test, TP 2/4 correctness fp16 + bf16, the fp8 GEMM check;
#   B (nothing beside it): calibrate (NCCL at 2 and 4 GPUs, fp8), `linfer profile` of llama-2-7b
#      and of llama-2-13b at TP 1, 2, 4 (JSON per rank), bench TPOT of llama-2-13b at TP 1, 2, 4
#      (with NVML sampling), an HTML report of it all, and a rank killed mid-run at TP 2.
# Needs build-dev/ (make device-bundle) and build-dev/pack/{bins,corpus}.tar.xz. Prints a summary
# last; everything else comes back in results.tar.xz.
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
NCPU=$(nproc); W=$(( (NCPU - 8) / 2 )); [ "$W" -lt 1 ] && W=1
FUZZ_SECS=${FUZZ_SECS:-150}
( FUZZ_DIR=/tmp/bins FUZZ_OUT=$OUT/fuzz FUZZ_WORK=/tmp/fuzzwork FUZZ_CORPUS_TAR=build-dev/pack/corpus.tar.xz \
  $R nice -n 5 bash fuzz/run_fuzz_parallel.sh "$FUZZ_SECS" "$W" fuzz_encode fuzz_decode > "$OUT/fuzz.log" 2>&1 ) &
FZ=$!
{
echo "== A: CUPTI profile test"
$R build-dev/tests/cuda/test_profile_cuda smollm2-135m 2>&1 | tail -7
LF_CUPTI_REQUIRED=1 $R build-dev/tests/cuda/test_profile_cuda llama-2-7b 2>&1 | tail -7
echo "== A: TP correctness, llama-2-13b, 8 prompts x 32 steps"
for dt in f16 bf16; do timeout 170 $R build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype $dt --steps 32 --no-speed 2>&1 | tail -14; done
echo "== A: fp8 GEMM check"
LF_REQUIRE_GPU=1 timeout 120 $R build-dev/tests/cuda/test_cuda_calib 2>&1 | tail -16
} > "$OUT/a.log" 2>&1
wait $FZ
{
echo "== B: calibrate"
timeout 200 $R $L calibrate 2>&1 | tail -40
echo "== B: profile"
$R $L profile -m llama-2-7b --in 128 --out 64 --reps 3 --json "$OUT/profile_7b.json" > "$OUT/profile_7b.txt" 2>&1; echo "rc=$?"
for tp in 1 2 4; do
  $R $L profile -m llama-2-13b --in 128 --out 64 --reps 3 --tp $tp --json "$OUT/profile_13b_tp$tp.json" > "$OUT/profile_13b_tp$tp.txt" 2>&1; echo "tp $tp rc=$?"
done
$R $L profile -m llama-2-7b --in 2048 --out 2 --reps 3 --json "$OUT/profile_7b_prefill2048.json" > "$OUT/profile_7b_prefill2048.txt" 2>&1; echo "prefill rc=$?"
echo "== B: bench llama-2-13b bs 1 in 128 out 128"
for tp in 1 2 4; do
  $R $L bench -m llama-2-13b --batch 1 --in 128 --out 128 --tp $tp --json "$OUT/bench_13b_tp$tp.json" > "$OUT/bench_13b_tp$tp.txt" 2>&1; echo "tp $tp rc=$?"
  grep -E "util|tpot|TPOT|gpu sampling" "$OUT/bench_13b_tp$tp.txt" | head -6
done
echo "== B: report"
$R $L report "$OUT"/profile_*.json "$OUT"/bench_13b_tp*.json -o "$OUT/report.html" 2>&1 | tail -3
echo "== B: kill rank 1 at TP 2"
bash bench/gpu_tp_cli.sh --kill-only 2>&1 | tail -8
} > "$OUT/b.log" 2>&1
cat "$OUT/a.log" "$OUT/b.log"
echo "---- profiles (decode_early of each)"
for f in "$OUT"/profile_*.txt; do echo "## $(basename "$f")"; grep -E "^TPOT|^TTFT|^decode_early|^prefill" "$f" | head -3; done
echo "---- fuzz"; cat "$OUT/fuzz.log"
rm -f "$OUT/fuzz/corpus.tar.xz"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name a.log -not -name b.log -not -name fuzz.log -type f -delete \
  && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
