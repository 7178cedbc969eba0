#!/usr/bin/env bash
# test_cli.sh LINFER — the CLI's behaviour on good and bad input: each bad input must end with a
# one-line error naming the culprit and a non-zero exit, never a crash (exit >= 128) or a hang.
set -u
bin=${1:-build/linfer}
ok=0; bad=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
model=models/SmolLM2-135M-Instruct.Q4_1.gguf

# expect_fail NAME PATTERN -- CMD...: non-zero exit < 128, stderr matches PATTERN (one line)
expect_fail() {
  local name=$1 pat=$2; shift 3
  local err rc
  err=$(timeout 60 "$@" 2>&1 >/dev/null); rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 124 ] && echo "$err" | grep -qE "$pat" && [ "$(echo "$err" | grep -c 'linfer')" -ge 1 ]; then
    ok=$((ok + 1))
  else
    bad=$((bad + 1)); echo "FAIL $name: rc=$rc stderr: $err"
  fi
}
expect_ok() {
  local name=$1 pat=$2; shift 3
  local out rc
  out=$(timeout 120 "$@" 2>&1); rc=$?
  if [ $rc -eq 0 ] && echo "$out" | grep -qE "$pat"; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "FAIL $name: rc=$rc out: ${out:0:400}"; fi
}

expect_fail missing-file 'no-such.gguf' -- "$bin" info -m "$tmp/no-such.gguf"
mkdir -p "$tmp/dir"
expect_fail empty-dir 'config.json' -- "$bin" info -m "$tmp/dir"
: > "$tmp/empty.gguf"
expect_fail empty-gguf 'empty.gguf' -- "$bin" info -m "$tmp/empty.gguf"
printf 'GGUF' > "$tmp/four.gguf"
expect_fail four-byte-gguf 'four.gguf.*truncated' -- "$bin" info -m "$tmp/four.gguf"
expect_fail bad-verb 'unknown verb' -- "$bin" frobnicate
expect_fail bad-n 'expects an integer' -- "$bin" generate -n 0
expect_fail bad-device 'cpu or cuda' -- "$bin" generate --device tpu
# tensor parallelism: refused before anything runs (no GPU here; on the CPU it is not built)
expect_fail tp-on-cpu 'needs the CUDA backend' -- "$bin" generate -m smollm2-135m --tp 2 --device cpu -n 2
expect_fail tp-bad-value 'expects an integer' -- "$bin" generate -m smollm2-135m --tp 0 -n 2
expect_fail pp-on-cpu 'needs the CUDA backend' -- "$bin" generate -m smollm2-135m --pp 2 --device cpu -n 2
expect_fail pp-with-tp-on-cpu 'needs the CUDA backend' -- "$bin" generate -m smollm2-135m --pp 2 --tp 2 --device cpu -n 2
expect_fail pp-bad-micro 'expects an integer' -- "$bin" generate -m smollm2-135m --pp 2 --pp-micro 0 -n 2
expect_fail bench-pp-on-cpu 'needs the CUDA backend' -- "$bin" bench -m smollm2-135m --pp 2 --device cpu
expect_fail bench-pp-recipe 'not for recipes' -- "$bin" bench --recipe exp3 --pp 2 --device cpu
# --tp-invariant: listed by both verbs; on the CPU (one device, no TP) accepted and changes nothing
expect_ok generate-help-tp-invariant 'tp-invariant' -- "$bin" generate --help
expect_ok bench-help-tp-invariant 'tp-invariant' -- "$bin" bench --help
expect_ok tp-invariant-cpu 'ids\[1\]: ' -- "$bin" generate -m "$model" --device cpu --tp-invariant -n 2 --print-ids --quiet
expect_fail tp-env-incomplete 'LOCAL_RANK is not set|built without CUDA' -- env RANK=1 WORLD_SIZE=2 "$bin" generate -m smollm2-135m --device cuda -n 2
# host sampling runs a step's sequences in parallel, each with its own RNG: the ids must not depend
# on the thread count (random-weights preset, a high temperature so that the draws vary)
samp="generate -m smollm2-135m --device cpu --batch 5 --in 8 -n 6 --temperature 30 --top-k 300 --top-p 0.97 --seed 7 --print-ids --quiet"
ids1=$(timeout 120 "$bin" $samp --threads 1 2>/dev/null | grep 'ids\['); ids4=$(timeout 120 "$bin" $samp --threads 4 2>/dev/null | grep 'ids\[')
if [ -n "$ids1" ] && [ "$(echo "$ids1" | wc -l)" -eq 5 ] && [ "$ids1" = "$ids4" ] && [ "$(echo "$ids1" | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -u | wc -l)" -gt 10 ]; then
  ok=$((ok + 1))
else
  bad=$((bad + 1)); echo "FAIL sampling-threads: --threads 1 and 4 gave different ids (or too few): [$ids1] vs [$ids4]"
fi
# --host-sampling (CUDA: sample on the host instead of the GPU) is listed, and on the CPU, which
# always samples on the host, changes nothing
expect_ok generate-help-host-sampling 'host-sampling' -- "$bin" generate --help
idsh=$(timeout 120 "$bin" $samp --threads 4 --host-sampling 2>/dev/null | grep 'ids\[')
if [ -n "$idsh" ] && [ "$idsh" = "$ids4" ]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "FAIL host-sampling-cpu: [$idsh] vs [$ids4]"; fi
# HF directory with a broken config / truncated weights
cp -r tests/data/hf/tiny-gqa "$tmp/hf"
truncate -s 100000 "$tmp/hf/model.safetensors"
expect_fail truncated-safetensors 'model.safetensors.*(past the end|truncated)' -- "$bin" info -m "$tmp/hf"
cp tests/data/hf/tiny-gqa/model.safetensors "$tmp/hf/"
sed -i 's/"model_type": "llama"/"model_type": "gpt2"/' "$tmp/hf/config.json"
expect_fail unknown-arch "model_type 'gpt2' is not supported" -- "$bin" info -m "$tmp/hf"
cp tests/data/hf/tiny-gqa/config.json "$tmp/hf/"
sed -i 's/"hidden_size": 256/"hidden_size": 320/' "$tmp/hf/config.json"
expect_fail wrong-shape "has shape .* but the config needs" -- "$bin" info -m "$tmp/hf"
expect_ok hf-info 'parameters' -- "$bin" info -m tests/data/hf/tiny-gqa
# calibrate: NCCL all-reduce (per GPU count) in --help, in the cache file and in the roofline
expect_ok calibrate-help-nccl 'NCCL all-reduce.*GPU count' -- "$bin" calibrate --help
expect_ok calibrate-help-no-nccl 'no-nccl' -- "$bin" calibrate --help
printf '%s\n' '# linfer calibration v1' 'gpu_name NVIDIA H200' 'read_bw 4.5e12' 'gemm_flops_fp16 7e14' 'launch_s 2.5e-6' \
  'ar_latency_s 2.5e-05' 'ar_busbw 3e11' 'ar_gpus 4' 'ar_latency_s_2 1.25e-05' 'ar_busbw_2 3.3e11' 'ar_latency_s_4 2.5e-05' \
  'ar_busbw_4 3e11' 'ar_nccl_version_2 22809' 'ar_time_s_2_2048 1.25e-05' 'ar_time_s_2_268435456 0.000813' > "$tmp/calib.txt"
expect_ok roofline-measured-ar-tp2 'all-reduce over 2 GPUs: busbw = 330 GB/s per direction, latency L_ar = 12.5 us' -- \
  "$bin" roofline -m llama-2-13b --gpu measured --calib "$tmp/calib.txt" --tp 2 --batch 1 --in 128 --out 128 --explain
expect_ok roofline-assumed-ar-tp8 'all-reduce over 8 GPUs: busbw = 450 GB/s per direction, latency L_ar = 8 us' -- \
  "$bin" roofline -m llama-2-13b --gpu measured --calib "$tmp/calib.txt" --tp 8 --batch 1 --in 128 --out 128 --explain
expect_ok calibrate-show-ar 'all-reduce latency, 2 GPUs \(us\) +12\.50 +8\.00' -- "$bin" calibrate --show --calib "$tmp/calib.txt"
expect_ok roofline-origin-per-prec 'FLOP/s measured for fp16 \(datasheet for the others\)' -- \
  "$bin" roofline -m llama-2-13b --gpu measured --calib "$tmp/calib.txt" --tp 2 --batch 1 --in 128 --out 128 --explain
expect_ok calibrate-show-ar-sizes '256 MiB +268435456 +813\.00' -- "$bin" calibrate --show --calib "$tmp/calib.txt"
# calibrate: fp8 GEMM (cuBLASLt): "not measured" in a file without it, else beside the datasheet, and
# used by the roofline for --dtype fp8
expect_ok calibrate-show-fp8-absent 'cuBLASLt GEMM fp8 \(TFLOP/s\) +not measured +1979\.0' -- "$bin" calibrate --show --calib "$tmp/calib.txt"
{ cat "$tmp/calib.txt"; printf '%s\n' 'gemm_flops_fp8 1.5e15' 'cc_major 9' 'cc_minor 0'; } > "$tmp/calib-fp8.txt"
expect_ok calibrate-show-fp8 'cuBLASLt GEMM fp8 \(TFLOP/s\) +1500\.0 +1979\.0 +0\.758' -- "$bin" calibrate --show --calib "$tmp/calib-fp8.txt"
expect_ok calibrate-show-fp8-json '"ceiling": "cuBLASLt GEMM fp8 \(TFLOP/s\)", "measured": 1500, "datasheet": 1979' -- \
  "$bin" calibrate --show --calib "$tmp/calib-fp8.txt" --format json
expect_ok roofline-measured-fp8 'F = 1\.5 PFLOP/s \(fp8\)' -- \
  "$bin" roofline -m llama-2-7b --gpu measured --calib "$tmp/calib-fp8.txt" --dtype fp8 --batch 8 --in 128 --out 16 --explain
if ! command -v nvidia-smi >/dev/null 2>&1; then   # no GPU: calibrate fails as before, --no-nccl or not
  expect_fail calibrate-no-gpu 'no CUDA GPU found|built without CUDA' -- "$bin" calibrate --no-nccl
fi
if [ -s "$model" ]; then
  head -c 5000000 "$model" > "$tmp/trunc.gguf"
  expect_fail truncated-gguf 'trunc.gguf.*(past the end|truncated)' -- "$bin" info -m "$tmp/trunc.gguf"
  expect_fail prompt-too-long "exceeds the model's context of 8192" -- "$bin" generate -m "$model" -n 8190 -p "a b c d e f"
  printf '\xff\xfe bad utf8' > "$tmp/bad.txt"
  expect_fail non-utf8-prompt 'UTF-8' -- "$bin" generate -m "$model" -n 4 --batch-file "$tmp/bad.txt"
  expect_ok generate-stats 'decode [0-9.]+ tok/s \| TTFT' -- "$bin" generate -m "$model" -n 8 -p "Hello"
  expect_ok tokenize-chinese '^[0-9 ]+$' -- "$bin" tokenize -m "$model" "帮忙写一篇散文诗"
  expect_ok tokenize-decode 'Hello world' -- "$bin" tokenize -m "$model" --decode "19556 905"
  printf 'The capital of France is\nWrite a conversation between the sun and pluto\nHi\n' > "$tmp/batch.txt"
  expect_ok batch-file '\[3\] Hi' -- "$bin" generate -m "$model" -n 8 --batch-file "$tmp/batch.txt"
else
  echo "cli: skipping model-based cases ($model not present; run scripts/fetch_model.sh)"
fi
echo "cli: $ok ok, $bad bad"
[ $bad -eq 0 ]
