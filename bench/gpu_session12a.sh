#!/usr/bin/env bash
# gpu_session12a.sh — one nvidia-h200-x4 call: the fuzz CPU-hours on the host's idle cores
# (issue 7) while the GPUs run the correctness work of this session:
#   - the CUPTI profile test (issue 6: a CUDA-graph decode step profiled with all its kernels);
#   - compute-sanitizer memcheck + racecheck over the CUDA kernel tests (issue 7, after kernel changes);
#   - tensor parallelism TP 2 and 4 against TP 1, fp16 and bf16 (issue 5's correctness bars);
#   - `linfer profile` of llama-2-7b (1 GPU) and llama-2-13b at TP 2 and 4 (functional check; the
#     recorded breakdowns come from a call without fuzzing beside it).
# Needs build-dev/ (make device-bundle) and build-dev/pack/{bins,corpus}.tar.xz (test and fuzz
# binaries, the grown fuzz corpora). Everything lands in $OUT; a table is printed last.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
FUZZ_SECS=${FUZZ_SECS:-520}
run() { bash scripts/device_run.sh cmd "$@"; }
mkdir -p /tmp/bins && xz -dc build-dev/pack/bins.tar.xz | tar -C /tmp/bins -xf - || python3 -c "import lzma,tarfile;tarfile.open(fileobj=lzma.open('build-dev/pack/bins.tar.xz')).extractall('/tmp/bins')"
mkdir -p build-dev/tests/cuda && cp /tmp/bins/test_* build-dev/tests/cuda/
NCPU=$(nproc); W=$(( (NCPU - 8) / 7 )); [ "$W" -lt 1 ] && W=1
echo "host: $NCPU CPUs; fuzz: 7 targets x $W workers x ${FUZZ_SECS}s" | tee "$OUT/summary.txt"
( FUZZ_DIR=/tmp/bins FUZZ_OUT=$OUT/fuzz FUZZ_WORK=/tmp/fuzzwork FUZZ_CORPUS_TAR=build-dev/pack/corpus.tar.xz \
  run nice -n 5 bash fuzz/run_fuzz_parallel.sh "$FUZZ_SECS" "$W" fuzz_safetensors fuzz_gguf fuzz_config fuzz_tokenizer_json \
  fuzz_encode fuzz_decode fuzz_model_load > "$OUT/fuzz.log" 2>&1; echo "fuzz rc=$?" >> "$OUT/fuzz.log" ) &
FZ=$!
{
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader
echo "== CUPTI profile test"
run build-dev/tests/cuda/test_profile_cuda smollm2-135m 2>&1 | tail -12
LF_CUPTI_REQUIRED=1 run build-dev/tests/cuda/test_profile_cuda llama-2-7b 2>&1 | tail -8
echo "== compute-sanitizer"
timeout 200 bash scripts/device_run.sh sanitize 2>&1 | tail -20
echo "== TP correctness (8 prompts x 32 steps, logits rel L2)"
for dt in f16 bf16; do timeout 150 run build-dev/tests/cuda/test_tp --model llama-2-13b --tp 2,4 --dtype $dt --steps 32 --no-speed 2>&1 | tail -12; done
echo "== profile llama-2-7b, 13b TP2/TP4 (functional; fuzzing beside)"
run build-dev/linfer profile -m llama-2-7b --in 128 --out 32 --reps 2 --json "$OUT/prof_7b_a.json" 2>&1 | head -40
run build-dev/linfer profile -m llama-2-13b --in 128 --out 32 --reps 2 --tp 4 --json "$OUT/prof_13b_tp4_a.json" 2>&1 | head -40
} > "$OUT/gpu.log" 2>&1
wait $FZ
cat "$OUT/gpu.log"
echo "---- fuzz"; cat "$OUT/fuzz.log"
# at most 8 files come back: everything else travels in one archive
rm -f "$OUT/fuzz/corpus.tar.xz"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz --exclude=gpu.log --exclude=fuzz.log --exclude=summary.txt . && \
  find . -mindepth 1 -not -name gpu.log -not -name fuzz.log -not -name summary.txt -delete && mv /tmp/results.tar.xz . )
ls -la "$OUT"
