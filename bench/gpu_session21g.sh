#!/usr/bin/env bash
# gpu_session21g.sh — one nvidia-h200 call on session 21's final tree: every issue-4 point with
# both ceilings of the same call (`linfer calibrate --no-nccl` and the peers' ceilings.py, the
# denominator the issue names), CUDA-vs-CPU greedy, then HF transformers side by side (eager and
# static cache + torch.compile) at bs 1 and 32 (bench/hf_side_by_side.sh).
# carry: build-dev/lib build-dev/pack .peers
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
dev_vs_cpu
dev_calibrate
python3 .peers/ceilings.py > "$OUT/peers_ceilings.json" 2>&1; echo "peers ceilings: $(tail -1 "$OUT/peers_ceilings.json")"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
for r in 1 2 3; do b 7b_r$r llama-2-7b --batch 1 --in 128 --out 128; done
for r in 1 2; do b 7b_in2048_r$r llama-2-7b --batch 1 --in 2048 --out 128; done
for r in 1 2; do b 7b_b32_r$r llama-2-7b --batch 32 --in 128 --out 128; done
b 7b_b128 llama-2-7b --batch 128 --in 128 --out 128
for r in 1 2; do b 8b_r$r llama-3-8b --batch 1 --in 128 --out 128; done
for r in 1 2; do b 13b_r$r llama-2-13b --batch 1 --in 128 --out 128; done
b 7b_b4 llama-2-7b --batch 4 --in 128 --out 128
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
timeout 420 bash bench/hf_side_by_side.sh 1:128:128,32:128:128 > "$OUT/hf_side_by_side.txt" 2>&1; echo "hf rc=$?" >> "$OUT/f.log"
cat "$OUT/hf_side_by_side.txt" >> "$OUT/f.log"
dev_finish
