#!/usr/bin/env bash
# gpu_session20a.sh — one nvidia-h200 call on 0369dd6: every issue-4 point on the current tree with
# both ceilings of the same call (`linfer calibrate --no-nccl` and the peers' .peers/ceilings.py,
# the denominator the issue names), and where the time goes at the two points furthest from their
# bars (CUPTI profiles of llama-2-7b bs 1 in 2048 and bs 32 in 128).
# carry: build-dev/lib build-dev/pack .peers
set -u
cd "$(dirname "$0")/.."
source bench/device_prep.sh
{
t0=$(date +%s)
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader
dev_calibrate
python3 .peers/ceilings.py > "$OUT/peers_ceilings.json" 2>&1; echo "peers ceilings: $(cat "$OUT/peers_ceilings.json" | tail -1)"
export LINFER_GIT_COMMIT=${LINFER_GIT_COMMIT:-unknown}
b() { dev_bench "$@"; }
b 7b_r1 llama-2-7b --batch 1 --in 128 --out 128
b 7b_r2 llama-2-7b --batch 1 --in 128 --out 128
b 7b_r3 llama-2-7b --batch 1 --in 128 --out 128
b 7b_in2048 llama-2-7b --batch 1 --in 2048 --out 128
b 7b_b32 llama-2-7b --batch 32 --in 128 --out 128
b 7b_b128 llama-2-7b --batch 128 --in 128 --out 128
b 8b llama-3-8b --batch 1 --in 128 --out 128
b 13b llama-2-13b --batch 1 --in 128 --out 128
echo "t=$(( $(date +%s) - t0 )) s"
timeout 150 $R $L profile -m llama-2-7b --in 2048 --out 32 --json "$OUT/profile_7b_in2048.json" > "$OUT/profile_7b_in2048.txt" 2>&1; echo "profile in2048 rc=$?"
timeout 150 $R $L profile -m llama-2-7b --batch 32 --in 128 --out 32 --json "$OUT/profile_7b_b32.json" > "$OUT/profile_7b_b32.txt" 2>&1; echo "profile b32 rc=$?"
timeout 150 $R $L profile -m llama-2-7b --batch 128 --in 128 --out 16 --json "$OUT/profile_7b_b128.json" > "$OUT/profile_7b_b128.txt" 2>&1; echo "profile b128 rc=$?"
echo "t=$(( $(date +%s) - t0 )) s"
} > "$OUT/f.log" 2>&1
for f in "$OUT"/profile_*.txt; do echo "== $f"; grep -vE "^\s*$" "$f" | head -40 | cut -c1-150; done
cat "$OUT/f.log"
( cd "$OUT" && tar -cJf /tmp/results.tar.xz . && find . -mindepth 1 -not -name f.log -type f -delete && find . -mindepth 1 -type d -empty -delete; mv /tmp/results.tar.xz . )
