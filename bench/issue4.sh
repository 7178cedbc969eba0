#!/usr/bin/env bash
# issue4.sh — one nvidia-h200 (or H100) call that measures every target of issue 4 on the tree it
# runs, against both ceilings of the same call, and prints the verdict table (bench/issue4_table.py):
# CUDA-vs-CPU greedy at llama-2-7b first (correctness), `linfer calibrate --no-nccl` and
# `.peers/ceilings.py` (the two ceilings), then 3 rounds in which the points alternate —
# llama-2-7b bs 1 in 128, bs 1 in 2048 (its TTFT is the prefill point), bs 32 and bs 128 in 128,
# llama-3-8b and llama-2-13b bs 1 in 128, all out 64 — and one CUPTI profile of the 2048-token
# prefill (where TTFT goes). HF transformers side by side is bench/hf_side_by_side.sh (its own call).
# carry: build-dev/lib build-dev/pack .peers     LINFER_GIT_COMMIT=<commit> bash bench/issue4.sh
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
dev_vs_cpu
dev_calibrate
python3 .peers/ceilings.py > "$OUT/peers_ceilings.json" 2>&1; echo "peers ceilings: $(tail -1 "$OUT/peers_ceilings.json")"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
for r in 1 2 3; do
  dev_bench 7b_r$r llama-2-7b --batch 1 --in 128 --out 64
  dev_bench 7b_in2048_r$r llama-2-7b --batch 1 --in 2048 --out 64
  dev_bench 7b_b32_r$r llama-2-7b --batch 32 --in 128 --out 64
  dev_bench 7b_b128_r$r llama-2-7b --batch 128 --in 128 --out 64
  dev_bench 8b_r$r llama-3-8b --batch 1 --in 128 --out 64
  dev_bench 13b_r$r llama-2-13b --batch 1 --in 128 --out 64
done
timeout 120 $R $L profile -m llama-2-7b --in 2048 --out 8 --reps 2 --json "$OUT/profile_7b_in2048.json" > "$OUT/profile_7b_in2048.log" 2>&1
echo "profile rc=$?"; grep -A14 -m1 -i "prefill" "$OUT/profile_7b_in2048.log" | head -16
echo "t=$(( $(date +%s) - t0 )) s"
echo
python3 bench/issue4_table.py "$OUT" --linfer "$R $L"
} > "$OUT/f.log" 2>&1
dev_finish
