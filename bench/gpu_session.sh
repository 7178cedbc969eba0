#!/usr/bin/env bash
# gpu_session.sh — one device call: CUDA kernel tests, the measured ceilings, the speed points of
# issue 2 with repetitions (medians are taken from bench.log), and the HF-transformers comparison
# at real shapes (logits + greedy tokens) with HF eager timed side by side. Needs build-dev/
# (make device-bundle) and .peers/ carried: mkdir -p .peers && cp ../shared/peers/*.py .peers/ (git-ignored
# via .git/info/exclude; the peer scripts are not ours to commit). Logs go to $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/lf-out}; mkdir -p "$OUT"
run() { bash scripts/device_run.sh cmd "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/device.txt"
if [ "${QUICK:-0}" = 1 ]; then
  { for rep in 1 2 3 4 5; do
      run build-dev/linfer generate -m llama-2-7b --device cuda --dtype fp16 --in 2048 -n 2 | tail -1 | sed "s/^/7b fp16 in2048 out2 rep$rep: /"
      run build-dev/linfer generate -m llama-2-7b --device cuda --dtype fp16 --in 128 -n 128 | tail -1 | sed "s/^/7b fp16 in128 out128 rep$rep: /"
    done; } 2>&1 | tee "$OUT/bench.log"
else
echo "== kernels"; bash scripts/device_run.sh kernels > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?"; tail -3 "$OUT/kernels.log"
echo "== ceilings"; timeout 120 python3 .peers/ceilings.py > "$OUT/ceilings.log" 2>&1; tail -3 "$OUT/ceilings.log"
{
for rep in 1 2 3 4 5; do
  run build-dev/linfer generate -m llama-2-7b --device cuda --dtype fp16 --in 128 -n 128 | tail -1 | sed "s/^/7b fp16 in128 out128 rep$rep: /"
  run build-dev/linfer generate -m llama-2-7b --device cuda --dtype fp16 --in 2048 -n 2 | tail -1 | sed "s/^/7b fp16 in2048 out2 rep$rep: /"
done
for rep in 1 2 3; do
  run build-dev/linfer generate -m llama-2-7b --device cuda --dtype bf16 --in 128 -n 128 | tail -1 | sed "s/^/7b bf16 in128 out128 rep$rep: /"
  run build-dev/linfer generate -m llama-2-7b --device cuda --dtype fp16 --in 2048 -n 128 | tail -1 | sed "s/^/7b fp16 in2048 out128 rep$rep: /"
  run build-dev/linfer generate -m llama-2-7b --device cuda --dtype fp16 --in 128 -n 64 --batch 32 | tail -1 | sed "s/^/7b fp16 bs32 in128 out64 rep$rep: /"
  run build-dev/linfer generate -m llama-3-8b --device cuda --dtype fp16 --in 128 -n 128 | tail -1 | sed "s/^/8b fp16 in128 out128 rep$rep: /"
  run build-dev/linfer generate -m llama-2-13b --device cuda --dtype fp16 --in 128 -n 128 | tail -1 | sed "s/^/13b fp16 in128 out128 rep$rep: /"
done
} 2>&1 | tee "$OUT/bench.log"
fi
echo "== HF goldens"; PYTHONUNBUFFERED=1 timeout 300 python3 tools/hf_device_golden.py /tmp/hfg 7b,8b > "$OUT/hf_golden.log" 2>&1; tail -2 "$OUT/hf_golden.log"
{
for s in 7b 8b; do for d in fp16 bf16; do
  [ -f /tmp/hfg/$s-$d.json ] && run build-dev/tests/cuda/test_hf_device /tmp/hfg/$s /tmp/hfg/$s-$d.json $d
done; done
echo "== HF eager side by side (7b, fp16)"
timeout 150 python3 .peers/hf_bench.py /tmp/hfg/7b --points 1:128:128,1:2048:2 2>&1 | tail -3
} 2>&1 | tee "$OUT/hf_compare.log"
echo "== summary"; grep -h "summary" "$OUT/hf_compare.log"
