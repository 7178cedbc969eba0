#!/usr/bin/env bash
# gpu_session21k.sh — one nvidia-h200 call on session 21's last tree: kernel tests, CUDA-vs-CPU
# greedy, both ceilings of the call (calibrate, the peers' ceilings.py), then the issue-4 points the
# prefill change moves or must not move: TTFT at in 2048 (three rounds), bs 1 in 128 and in 2048,
# bs 32, llama-3-8b and llama-2-13b bs 1 (two rounds each).
# carry: build-dev/lib build-dev/pack .peers
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_kernel_tests
dev_vs_cpu
dev_calibrate
python3 .peers/ceilings.py > "$OUT/peers_ceilings.json" 2>&1; echo "peers ceilings: $(tail -1 "$OUT/peers_ceilings.json")"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2 3; do b 7b_in2048_r$r llama-2-7b --batch 1 --in 2048 --out 128; done
for r in 1 2; do
  b 7b_r$r llama-2-7b --batch 1 --in 128 --out 128
  b 7b_b32_r$r llama-2-7b --batch 32 --in 128 --out 128
  b 8b_r$r llama-3-8b --batch 1 --in 128 --out 128
  b 13b_r$r llama-2-13b --batch 1 --in 128 --out 128
done
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
dev_finish
